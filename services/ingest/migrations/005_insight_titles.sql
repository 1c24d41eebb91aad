-- Insight titles counted together whatever their case, accents (the Latin ones of the
-- languages Parley stems) or surrounding spaces: "  Facturación" and "facturacion" are one.
CREATE FUNCTION parley_title_key(title text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- translate also takes the upper-case letters: lower() leaves them under the C locale.
    SELECT translate(lower(btrim(title)),
                     'áàâäãåāéèêëēíìîïīóòôöõøōúùûüūñçýÿÁÀÂÄÃÅĀÉÈÊËĒÍÌÎÏĪÓÒÔÖÕØŌÚÙÛÜŪÑÇÝ',
                     'aaaaaaaeeeeeiiiiiooooooouuuuuncyyaaaaaaaeeeeeiiiiiooooooouuuuuncy')
$$;

CREATE INDEX insights_title_key_idx ON insights (type, parley_title_key(title));
