// How tests run the `lorakit` CLI: node + tsx on src/cli/main.ts, always the sources under test. Never
// bin/lorakit.js: it prefers a dist/ build when one exists, which may be older than the sources
// (test/cli/bin.test.ts fails on a test that spawns it).
export const CLI: readonly string[] = ['--import', 'tsx', 'src/cli/main.ts'];
