// Bundles the widget (ESM, dagre included) into the Python package: cmbjupyter/static/widget.js.
import * as esbuild from "esbuild";

const options = {
  entryPoints: ["src/widget.js"],
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  outfile: "../cmbjupyter/static/widget.js",
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  await (await esbuild.context(options)).watch();
} else {
  await esbuild.build(options);
}
