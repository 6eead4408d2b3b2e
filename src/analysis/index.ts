/**
 * Analysis of a population's feature vectors ("what" a neuron computes, Klindt et al. 2017): scaling, PCA and
 * UMAP to 2-D, k-means with a suggested k, and agreement between labelings. Plain TypeScript on typed arrays:
 * no React, DOM or tfjs, so the same code runs in Node (tests), the page and a Web Worker.
 */
export { adjustedRandIndex } from './adjusted_rand';
export { bestK, type KSweep, type KSweepOptions, sweepK } from './choose_k';
export { type Contingency, contingency } from './contingency';
export { type KMeansOptions, type KMeansResult, kmeans, kmeansPlusPlus } from './kmeans';
export { fromRows, type Matrix, matrix, squaredDistance, takeRows } from './matrix';
export { type Pca, type PcaOptions, pca } from './pca';
export { columnMoments, FEATURE_SCALINGS, type FeatureScaling, scaleFeatures } from './scaling';
export {
  distanceMatrix,
  type SilhouetteOptions,
  silhouetteFromDistances,
  silhouetteRows,
  silhouetteSamples,
  silhouetteScore,
} from './silhouette';
export { type SymmetricEigen, symmetricEigen } from './symmetric_eigen';
export { startUmap, type UmapOptions, type UmapRun, umap2d } from './umap';
