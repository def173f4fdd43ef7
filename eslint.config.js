// Lint: typescript-eslint's recommended rules (syntax only, so lint stays fast) plus a ban on `any`.
// Layering (which folder may import which) is checked by scripts/check-layers.mjs, run in `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'test/fixtures/**', '**/*.d.ts', 'src/ui/static/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly',
        structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly',
        AbortSignal: 'readonly', fetch: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      // Line cap (issue 14). Exempt only what cannot be split without hurting it: a URL, and a regex literal
      // (splitting one means building it from strings, which hides the pattern). Long strings and template
      // literals are split with `+` or moved into a const instead.
      'max-len': ['error', { code: 150, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // TEMPORARY: rewrapped after the registry-on-PostgreSQL merge (these files are being rewritten now).
    files: [
      'src/registry/**', 'src/cli/commands/registry-*.ts', 'src/cli/commands/serve.ts', 'src/serve/server.ts',
      'src/cli/commands/index.ts', 'test/registry/**', 'bench/index.ts',
      'bench/cluster-live.ts',
      'bench/cluster-sim.ts',
      'bench/cluster.ts',
      'src/cli/commands/cluster-status.ts',
      'src/cli/commands/deploy-haproxy.ts',
      'src/cli/commands/eval.ts',
      'src/cli/commands/merge.ts',
      'src/cli/commands/ui.ts',
      'src/cli/quickstart/run.ts',
      'src/db/postgres.ts',
      'src/db/sql.ts',
      'src/db/sqlite.ts',
      'src/serve/cluster.ts',
      'src/serve/routes/health.ts',
      'src/serve/setup.ts',
      'src/track/store.ts',
      'src/track/tracker.ts',
      'src/train/step.ts',
      'src/ui/data.ts',
      'src/ui/index.ts',
      'test/cli/tracking.test.ts',
      'test/cluster/cluster.test.ts',
      'test/cluster/harness.ts',
      'test/helpers/postgres.ts',
      'test/serve/cluster-status.test.ts',
      'test/serve/drain.test.ts',
      'test/serve/haproxy.test.ts',
      'test/track/tracker.test.ts',
      'test/ui/fixture.ts',
    ],
    rules: { 'max-len': 'off' },
  },
);
