// ESLint for the dashboard (npx eslint . in web/; ctest's unit_web_lint): the page's
// modules run in the browser, the tests and this file in Node.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-unused-vars": ["error", { args: "none" }],
    },
  },
  {
    files: ["**/*.test.mjs", "eslint.config.js"],
    languageOptions: { globals: globals.node },
  },
];
