import betaQuantileImpl from '@stdlib/stats-base-dists-beta-quantile';

/**
 * Quantile of Beta(α, β). @stdlib's implementation follows Boost's inverse incomplete beta and
 * agrees with SciPy's `beta.ppf` to the last bit or two, so Python verifiers reproduce our scores.
 */
export function betaQuantile(p: number, alpha: number, beta: number): number {
  if (!(p >= 0 && p <= 1) || !(alpha > 0) || !(beta > 0) || !Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new RangeError(`beta quantile outside its domain: p=${p} alpha=${alpha} beta=${beta}`);
  }
  return betaQuantileImpl(p, alpha, beta);
}
