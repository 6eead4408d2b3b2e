/**
 * A recorded static scan as loaded from a neuralpredictors FileTree dataset. Arrays hold the raw values of
 * the files (images rescaled when asked); normalization is applied on demand by normalize.ts, exactly as
 * neuralpredictors' NeuroNormalizer, so uint8 images can stay uint8 in memory.
 */

/** Data groups NeuroNormalizer can leave unnormalized (its `exclude` argument). */
export type NormalizedGroup = 'images' | 'responses' | 'behavior' | 'pupil_center';

/** One statistics folder, `meta/statistics/<group>/<source>/`: 0-d for images, one value per neuron/column otherwise. */
export interface Statistics {
  mean: Float32Array;
  std: Float32Array;
  min?: Float32Array;
  max?: Float32Array;
  median?: Float32Array;
}

/**
 * What NeuroNormalizer(dataset, stats_source, exclude) computes from the statistics:
 * images (x - imageMean) / imageStd; responses x * responsePrecision[n], where precision = 1 / std when
 * std > 0.01 * nanmean(std) and 1 / (0.01 * nanmean(std)) otherwise (the threshold uses every neuron in the
 * files, also those dropped later, as the loaders subsample after normalizing); behavior
 * (x - behaviorMean) * behaviorPrecision with precision 1 / std (no threshold) and mean 0 unless
 * subtract_behavior_mean; pupil_center (x - pupilMean) / pupilStd.
 */
export interface Normalizer {
  imageMean: number;
  imageStd: number;
  /** Per kept neuron. */
  responsePrecision: Float32Array;
  behaviorMean?: Float32Array;
  behaviorPrecision?: Float32Array;
  pupilMean?: Float32Array;
  pupilStd?: Float32Array;
  /** Groups returned raw by the normalized* helpers. */
  exclude: NormalizedGroup[];
  statsSource: string;
}

/** The per-neuron ids and labels of meta/neurons/* (those present), one entry per neuron. */
export interface NeuronLabels {
  unitIds: number[];
  animalIds?: number[];
  sessions?: number[];
  scanIdx?: number[];
  area?: string[];
  layer?: string[];
  /**
   * Ground-truth cell type of each neuron (an integer label, 0..K-1), when the scan carries it
   * (`meta/neurons/cell_types.npy`, written by simulated cell-type populations): shown beside the clusters
   * of the Cell types view, with their agreement.
   */
  cellTypes?: number[];
  /**
   * `meta/neurons/multi_match_id.npy`: the id of each neuron's match across scans (the same id = the same cell
   * recorded in another scan), as neuralpredictors reads it (`dataset.neurons.multi_match_id`); what feature sharing
   * across scans uses (model/feature_sharing.ts).
   */
  multiMatchId?: number[];
}

export interface NeuronInfo extends NeuronLabels {
  /** Row of each kept neuron in meta/neurons/* and column in data/responses/*.npy. */
  index: Int32Array;
}

export interface Scan {
  /** Root folder name, e.g. 'static-sim-a'. */
  name: string;
  /** What it was loaded from (zip path, folder path, ...). */
  origin: string;
  /** The readout key neuralpredictors' Sensorium loader gives this scan (e.g. '90101-1-1', '26872-17-20'). */
  dataKey: string;
  nTrials: number;
  nNeurons: number;
  /** [C, H, W] of `images` (after rescaling). */
  imageShape: [number, number, number];
  /** [C, H, W] as stored in data/images/*.npy. */
  storedImageShape: [number, number, number];
  /** Rescale factor applied (1 = none). */
  scale: number;
  /**
   * Raw pixel values, trial-major, CHW per trial (length nTrials * C * H * W). Uint8Array when the files are
   * uint8 and no rescaling was asked for; Float32Array otherwise (rescaled images are fractional).
   */
  images: Uint8Array | Float32Array;
  /** Raw responses, trials x neurons (row-major). */
  responses: Float32Array;
  /** 'train' | 'validation' | 'test' | 'final_test' | ... per trial. */
  tiers: string[];
  /** Id of the image shown in each trial; repeats of a test image share it. */
  frameImageId: Float64Array;
  /** Which meta/trials file the ids came from ('frame_image_id', 'image_id' or 'colorframeprojector_image_id'). */
  frameImageIdSource: string;
  frameImageClass?: string[];
  /** Presentation order (meta/trials/trial_idx.npy) when present. */
  trialIdx?: Float64Array;
  /** For each kept trial, its file index i (data/<group>/i.npy); differs from 0..n-1 only when trials are dropped. */
  fileIndex: Int32Array;
  neurons: NeuronInfo;
  /** Same as neurons.unitIds. */
  unitIds: number[];
  /** x, y, z in micrometres per neuron (N x 3, row-major), when meta/neurons/cell_motor_coordinates.npy exists. */
  cellMotorCoordinates?: Float32Array;
  /** Statistics of `statsSource` ('all' by default); responses per kept neuron. */
  statistics: { images: Statistics; responses: Statistics; behavior?: Statistics; pupilCenter?: Statistics };
  /** Raw behavior (trials x behaviorDim) when data/behavior exists. */
  behavior?: Float32Array;
  behaviorDim: number;
  /** Raw pupil center (trials x pupilDim) when data/pupil_center exists. */
  pupilCenter?: Float32Array;
  pupilDim: number;
  normalizer: Normalizer;
  /** Things the user should know that do not stop loading (e.g. no repeated test images: no oracle). */
  warnings: string[];
}

export interface LoadScanOptions {
  /** Image rescale factor (Sensorium: 0.25 for 144x256 -> 36x64), as neuralpredictors' ScaleInputs. Default 1. */
  scale?: number;
  /** Groups left unnormalized (NeuroNormalizer's `exclude`; the Lurz 2020 example uses ['images']). */
  exclude?: NormalizedGroup[];
  /** Statistics folder used for normalization; neuralpredictors' default 'all'. */
  statsSource?: string;
  /** As NeuroNormalizer's subtract_behavior_mean (default false). */
  subtractBehaviorMean?: boolean;
  /** Called after each batch of files: files read so far, files in all, what is being read. */
  onProgress?: (done: number, total: number, what: string) => void;
  /** Neurons (rows of meta/neurons, columns of the response files, 0-based) to leave out. */
  dropNeurons?: number[];
  /** Trials (file indices i of data/<group>/i.npy) to leave out; their files are not read. */
  dropTrials?: number[];
  /** Files read per batch (default 256 from a zip, which reads neighbouring entries together; 64 otherwise). */
  batchSize?: number;
  /** Refuse scans whose arrays would take more than this many bytes in memory (default 3 GiB). */
  maxBytes?: number;
}
