// Dimensions: a number, or a named dynamic dim written as a product of symbols with an optional integer
// coefficient ('B', 'T', 'B*T', '4*B'). Products and exact quotients stay symbolic so that Reshape with -1 can be
// inferred at build time, e.g. (B, T, 512) → (-1, 512) gives (B*T, 512).
export type Dim = number | string;
export type Shape = readonly Dim[];

interface Mono { coef: number; syms: string[] }

function parse(d: Dim): Mono {
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    const p = part.trim();
    if (/^\d+$/.test(p)) coef *= Number(p);
    else syms.push(p);
  }
  return { coef, syms: syms.sort() };
}

function format(m: Mono): Dim {
  if (m.syms.length === 0) return m.coef;
  return (m.coef === 1 ? [] : [String(m.coef)]).concat(m.syms).join('*');
}

export function normalizeDim(d: Dim): Dim {
  return format(parse(d));
}

export function dimEq(a: Dim, b: Dim): boolean {
  return normalizeDim(a) === normalizeDim(b);
}

export function mulDims(a: Dim, b: Dim): Dim {
  const x = parse(a), y = parse(b);
  return format({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms].sort() });
}

/** a / b when it divides exactly (symbol multiset and coefficient), else null. */
export function divDims(a: Dim, b: Dim): Dim | null {
  const x = parse(a), y = parse(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return null;
  const rest = [...x.syms];
  for (const s of y.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return format({ coef: x.coef / y.coef, syms: rest });
}

export function product(shape: Shape): Dim {
  return shape.reduce<Dim>((p, d) => mulDims(p, d), 1);
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Numeric size of a static shape; throws on symbolic dims (callers check isStatic first). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
