// Numerical integration for sampler coefficients (DEIS tAB) that have no closed form.

interface Rule {
  nodes: Float64Array;
  weights: Float64Array;
}

const rules = new Map<number, Rule>();

/** Gauss–Legendre nodes and weights on [-1, 1], found by Newton's method on P_n. */
export function gaussLegendre(n: number): Rule {
  if (!Number.isInteger(n) || n < 1) throw new Error(`gaussLegendre: n must be a positive integer, got ${n}`);
  const cached = rules.get(n);
  if (cached) return cached;
  if (n === 1) return { nodes: Float64Array.of(0), weights: Float64Array.of(2) };
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / derivative;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = weights[n - 1 - i] = 2 / ((1 - x * x) * derivative * derivative);
  }
  const rule = { nodes, weights };
  rules.set(n, rule);
  return rule;
}

function fixedRule(f: (x: number) => number, a: number, b: number, rule: Rule): { value: number; magnitude: number } {
  const half = (b - a) / 2;
  const mid = (a + b) / 2;
  let value = 0;
  let magnitude = 0;
  for (let i = 0; i < rule.nodes.length; i++) {
    const y = f(mid + half * rule.nodes[i]!);
    value += rule.weights[i]! * y;
    magnitude += rule.weights[i]! * Math.abs(y);
  }
  return { value: value * half, magnitude: Math.abs(magnitude * half) };
}

interface Panel {
  lo: number;
  hi: number;
  value: number;
  error: number;
  magnitude: number;
}

function panel(f: (x: number) => number, lo: number, hi: number, rule: Rule): Panel {
  const mid = (lo + hi) / 2;
  const whole = fixedRule(f, lo, hi, rule).value;
  const left = fixedRule(f, lo, mid, rule);
  const right = fixedRule(f, mid, hi, rule);
  const value = left.value + right.value;
  return { lo, hi, value, error: Math.abs(value - whole), magnitude: left.magnitude + right.magnitude };
}

/**
 * ∫_a^b f by globally adaptive 10-point Gauss–Legendre: each panel's error is estimated by
 * comparing it with its two halves, and the worst panel is split until the summed error is
 * below `relativeTolerance` times ∫|f| (polynomials up to degree 19 are exact at once).
 * Where f has kinks, pass them as `breakpoints`: the integral is split there, since kinks
 * inside a panel make the error shrink only slowly. a > b gives the negated integral.
 */
export function integrate(f: (x: number) => number, a: number, b: number, { relativeTolerance = 1e-13, maxPanels = 20000, breakpoints = [] as readonly number[] } = {}): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`integrate: bounds must be finite, got [${a}, ${b}]`);
  if (a === b) return 0;
  const rule = gaussLegendre(10);
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const cuts = [lo, ...breakpoints.filter((x) => x > lo && x < hi).sort((x, y) => x - y), hi];
  if (a > b) cuts.reverse();
  const panels = cuts.slice(1).map((end, i) => panel(f, cuts[i]!, end, rule));
  for (;;) {
    let error = 0;
    let magnitude = 0;
    let worst = 0;
    panels.forEach((p, i) => {
      error += p.error;
      magnitude += p.magnitude;
      if (p.error > panels[worst]!.error) worst = i;
    });
    if (error <= relativeTolerance * magnitude || error === 0) return panels.reduce((sum, p) => sum + p.value, 0);
    if (panels.length >= maxPanels) throw new Error(`integrate: no convergence on [${a}, ${b}] after ${maxPanels} panels (error ${error} vs ∫|f| ${magnitude})`);
    const { lo, hi } = panels[worst]!;
    const mid = (lo + hi) / 2;
    panels.splice(worst, 1, panel(f, lo, mid, rule), panel(f, mid, hi, rule));
  }
}
