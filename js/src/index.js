// The labextension's plugins: the sessions sidebar and the renderer of a run's notebook output.
import sidebar from "./sidebar.js";
import runRenderer from "./mimerender.js";

export default [sidebar, runRenderer].flat();
