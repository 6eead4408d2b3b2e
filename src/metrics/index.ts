/** The field's metrics over host arrays (no tfjs): correlation, oracle, fraction oracle, FEVE. */
export * from './correlation';
export * from './repeats';
export * from './oracle';
export * from './fraction_oracle';
export * from './feve';
export * from './evaluate';
