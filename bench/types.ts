// The shape every bench/<area>.ts returns: a titled table of rows. bench/index.ts prints tables and JSON.
export type BenchCell = string | number | null;
export interface BenchTable {
  readonly title: string;
  readonly rows: readonly Readonly<Record<string, BenchCell>>[];
  readonly notes?: readonly string[];
}
export type BenchArea = () => Promise<readonly BenchTable[]>;
