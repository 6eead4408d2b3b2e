/**
 * Fraction of oracle (Lurz et al. 2020): the least-squares slope, without intercept, of the neurons' test
 * correlations on their oracle correlations, `np.linalg.lstsq(oracle[:, None], test_correlation)`:
 * slope = sum(o * c) / sum(o * o). NaN or infinite values count as 0, as in the Lurz code.
 */
export function fractionOracle(testCorrelation: ArrayLike<number>, oracle: ArrayLike<number>): number {
  if (testCorrelation.length !== oracle.length) {
    throw new Error(`fraction oracle of ${testCorrelation.length} correlations and ${oracle.length} oracles`);
  }
  let soc = 0,
    soo = 0;
  for (let i = 0; i < oracle.length; i++) {
    const o = Number.isFinite(oracle[i]) ? oracle[i] : 0;
    const c = Number.isFinite(testCorrelation[i]) ? testCorrelation[i] : 0;
    soc += o * c;
    soo += o * o;
  }
  return soo > 0 ? soc / soo : NaN;
}
