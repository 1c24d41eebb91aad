// Parley's console, built into build/console/ with fixed file names: the gateway (Envoy)
// serves each file from a route of its own, so names must not change from build to build.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  logLevel: "warn",
  resolve: {
    // The Parley-summaries preset, written by `python -m services.synth.presets` at build time.
    alias: { "@generated": process.env.PARLEY_CONSOLE_GENERATED || `${root}/../build/console-generated` },
  },
  build: {
    outDir: process.env.PARLEY_CONSOLE_OUT || `${root}/../build/console`,
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/console.js",
        chunkFileNames: "assets/console-[name].js",
        assetFileNames: "assets/console[extname]",
        inlineDynamicImports: true,
      },
    },
  },
});
