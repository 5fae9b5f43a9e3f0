// Lint for every TypeScript file of the project: typescript-eslint's recommended rules, configured once.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "typechain-types/",
      "coverage/",
      "dist/",
      "web/dist/",
      "watcher/dist/",
      "lib/abi/generated.ts",
      "test-artifacts/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/no-require-imports": "off",
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  {
    // Layers: lib/ is the core every front shares, so it imports none of them; the watcher imports only lib/.
    files: ["lib/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/watcher/**", "**/web/**", "**/scripts/**", "**/tasks/**", "**/test/**", "**/bench/**"],
              message: "lib/ is the shared core: it imports no front (watcher, web, scripts, tasks, test, bench).",
            },
            { group: ["**/rehearsal/**"], message: "lib/ is the shared core: the rehearsal harness builds on it." },
          ],
        },
      ],
    },
  },
  {
    files: ["watcher/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/web/**", "**/scripts/**", "**/tasks/**", "**/test/**", "**/bench/**"],
              message: "the watcher imports only lib/ and its own modules.",
            },
          ],
        },
      ],
    },
  },
  {
    // Tests poke at loosely typed replies and state on purpose, and chai's assertions are property reads.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-unused-expressions": "off" },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        __dirname: "readonly",
        console: "readonly",
      },
    },
  },
);
