// Builds the JupyterLab sidebar (src/sidebar.js) into the Python package: cmbjupyter/labextension.
// JupyterLab's builder needs the core packages of the JupyterLab it targets: those of the Python
// environment that runs this ($PYTHON, else python3), found without `jupyter labextension build`
// (JupyterLab 4.6 delegates that to a separate `jupyter-builder` tool).
import { execFileSync } from "node:child_process";

const python = process.env.PYTHON || "python3";
const core = execFileSync(
  python,
  ["-c", "import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging'))"],
  { encoding: "utf8" },
).trim();
execFileSync(
  process.execPath,
  ["node_modules/@jupyterlab/builder/lib/build-labextension.js", "--core-path", core, "."],
  { stdio: "inherit" },
);
