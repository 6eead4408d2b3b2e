import * as tf from '@tensorflow/tfjs';

/**
 * A tf.Variable holding `t`'s values; `t` itself is disposed. (tf.variable(t) shares t's data but leaves t
 * registered, which would count as a leaked tensor for every parameter.)
 */
export function variableFrom<R extends tf.Rank>(t: tf.Tensor<R>, trainable: boolean): tf.Variable<R> {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}
