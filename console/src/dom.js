// A small element builder: h("button", {type: "button", onclick}, "Save"). Text is always
// set as text, never parsed as HTML, so nothing from the API can become markup.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "open", "required", "readOnly"]);

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (PROPERTIES.has(name)) element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

// A search snippet: the API marks matched words with <mark>...</mark> in otherwise plain
// text. Only those two tokens become elements; everything else stays text.
export function highlighted(snippet) {
  const parts = [];
  let rest = snippet;
  while (rest) {
    const open = rest.indexOf("<mark>");
    const close = open < 0 ? -1 : rest.indexOf("</mark>", open + 6);
    if (open < 0 || close < 0) {
      parts.push(rest);
      break;
    }
    parts.push(rest.slice(0, open), h("mark", {}, rest.slice(open + 6, close)));
    rest = rest.slice(close + 7);
  }
  return parts;
}

// A labelled form control: the label's `for` names the control's id.
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control,
    hint ? h("small", { id: hintId, class: "hint" }, hint) : null);
}

export function select(id, options, value) {
  return h("select", { id, name: id },
    options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)));
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
