// ESLint (flat config): typescript-eslint's recommended rules with type information, and Temporal's rules
// for workflow code, which must be deterministic: no Node built-ins or other run-time imports (only
// @temporalio/workflow, sibling workflow files and types), no clocks, randomness, timers or process.
// `npm run lint`; CI runs it. Prettier (.prettierrc.json) formats; ESLint does not check formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.state/', '.dreamsweep/', 'bench/results/', 'demo/model/', 'test/fixtures/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      // Every promise is awaited, returned or explicitly voided: a dropped one loses its error.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // `_name` marks a deliberately unused binding (destructuring a field away).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/workflow$|\\./)',
              allowTypeImports: true,
              message: 'workflow code may import only @temporalio/workflow and ./ siblings at run time (types from anywhere); I/O belongs in activities',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'workflow code must not read the process: pass it in the workflow input' }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'workflow code keeps no clock of its own: use workflowInfo() or a timer' },
        { object: 'Math', property: 'random', message: 'workflow code draws no randomness: seeds come in the input' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='setTimeout']", message: "workflow code waits with @temporalio/workflow's sleep() or condition()" },
      ],
    },
  },
  {
    // Layering: core, workers and activities import neither infra/ nor cli/ (infra starts workers, not the
    // reverse); what both sides need lives in core/ (the cache directory: core/cache-dir.ts).
    files: ['core/**/*.ts', 'workers/**/*.ts', 'activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+(infra|cli)/', message: 'core, workers and activities do not import infra/ or cli/: move what both need into core/' }] },
      ],
    },
  },
  {
    // Plain JavaScript launchers: no type information.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
