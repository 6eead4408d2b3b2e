/**
 * Analysis of a population's feature vectors ("what" a neuron computes, Klindt et al. 2017): scaling, PCA and
 * UMAP to 2-D, k-means with a suggested k, and agreement between labelings. Plain TypeScript on typed arrays:
 * no React, DOM or tfjs, so the same code runs in Node (tests), the page and a Web Worker.
 */
export { adjustedRandIndex } from './adjusted_rand';
export { bestK, sweepK, type KSweep, type KSweepOptions } from './choose_k';
export { contingency, type Contingency } from './contingency';
export { kmeans, kmeansPlusPlus, type KMeansOptions, type KMeansResult } from './kmeans';
export { fromRows, matrix, squaredDistance, takeRows, type Matrix } from './matrix';
export { pca, type Pca, type PcaOptions } from './pca';
export { columnMoments, FEATURE_SCALINGS, scaleFeatures, type FeatureScaling } from './scaling';
export {
  distanceMatrix, silhouetteFromDistances, silhouetteRows, silhouetteSamples, silhouetteScore, type SilhouetteOptions,
} from './silhouette';
export { symmetricEigen, type SymmetricEigen } from './symmetric_eigen';
export { startUmap, umap2d, type UmapOptions, type UmapRun } from './umap';
