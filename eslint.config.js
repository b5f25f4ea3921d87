// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'models/**',
      '.data/**',
      'coverage/**',
      '.bench/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Packages are used through their public entry points (package.json `exports`), never their internals:
      // a refactor inside a package must not break another package, a test or a script.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@labelq/[^/]+/src(/|$)',
              message: 'Import the package by its public entry point (e.g. @labelq/inference), not its src/.',
            },
            {
              regex: '(^|/)(packages|services)/[^/]+/src(/|$)',
              message:
                'Import another package by its public entry point (@labelq/<name>), not a path into its src/.',
            },
          ],
        },
      ],
      // Only the config module may read the environment (restrictEnvAccess).
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @labelq/config.' },
      ],
    },
  },
  {
    // Plain-JS files (e.g. the worker-thread entry that registers tsx) are outside the TS project.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The config module, scripts that spawn child processes with an environment, and tests that build one.
    files: [
      'packages/config/src/**/*.ts',
      'scripts/**/*.ts',
      'test/**/*.ts',
      '**/*.test.ts',
      'vitest.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
