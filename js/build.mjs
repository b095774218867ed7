// Bundles the widget (ESM, dagre included) into the Python package: cmbjupyter/static/widget.js.
// `npm run watch` rebuilds on every change, with inline sourcemaps; with ANYWIDGET_HMR=1 in the
// kernel's environment, anywidget reloads the changed bundle into open widgets (README: Development).
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: ["src/widget.js"],
  bundle: true,
  format: "esm",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  target: ["es2020"],
  outfile: "../cmbjupyter/static/widget.js",
  logLevel: "info",
};

if (watch) {
  await (await esbuild.context(options)).watch();
} else {
  await esbuild.build(options);
}
