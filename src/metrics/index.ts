/** The field's metrics over host arrays (no tfjs): correlation, oracle, fraction oracle, FEVE. */
export * from './correlation';
export * from './evaluate';
export * from './feve';
export * from './fraction_oracle';
export * from './oracle';
export * from './pooled';
export * from './repeats';
