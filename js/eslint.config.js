// eslint (flat config): the recommended rules; formatting is prettier's (npm run format:check).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "../cmbjupyter/"] },
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["*.mjs", "*.js", "test/**/*.js"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
      "prefer-const": "error",
    },
  },
];
