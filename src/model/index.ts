/** The model library: neuralpredictors' Stacked2dCore + FullGaussian2d in tfjs (no DOM, no React). */
export * from './config';
export * from './architecture';
export { Stacked2dCore, BATCH_NORM_EPS, torchConvToTf, tfConvToTorch, type CoreForwardOptions } from './core';
export { FullGaussian2d, sigmaSize, type GaussianReadoutInit, type ReadoutForwardOptions } from './gaussian_readout';
export { PositionNetwork, type LinearInit } from './position_network';
export { gridSample } from './grid_sample';
export { Encoder, nchwToNhwc, nhwcToNchw, type EncoderForwardOptions, type BatchOptions, type ImagesNCHW } from './encoder';
export { encoderFromStateDict, coreFromStateDict, readoutFromStateDict, readoutInitFromStateDict, type EncoderLoadOptions } from './from_state_dict';
export { encoderToStateDict, coreToStateDict, readoutToStateDict } from './to_state_dict';
export { readoutHostParams, type ReadoutHostParams } from './host_params';
export { Rng } from '../sim/rng';
