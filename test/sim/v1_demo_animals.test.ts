import { describe, expect, it } from 'vitest';
import { DEMO_ANIMALS, DEMO_TRAINING_SIZES, demoAnimal } from '../../src/sim/demo_animals';
import { makePopulation } from '../../src/sim/v1_population';

describe('demo animals', () => {
  it('are distinct animals: one held out, the rest for training the core', () => {
    expect(new Set(DEMO_ANIMALS.map((a) => a.name)).size).toBe(DEMO_ANIMALS.length);
    expect(new Set(DEMO_ANIMALS.map((a) => a.animalSeed)).size).toBe(DEMO_ANIMALS.length);
    expect(DEMO_ANIMALS.filter((a) => a.role === 'heldout').length).toBe(1);
    expect(DEMO_ANIMALS.filter((a) => a.role === 'train').length).toBeGreaterThanOrEqual(3);
    expect(demoAnimal('static-v1demo-heldout').role).toBe('heldout');
    expect(() => demoAnimal('nope')).toThrow(/no demo animal/);
  });

  it('have different retinotopic maps, and the held-out training tier holds every experiment size', () => {
    const maps = DEMO_ANIMALS.map(
      (a) =>
        makePopulation({ animalSeed: a.animalSeed, nNeurons: 1, imageShape: [1, 36, 64] }).retinotopy!.params.linear,
    );
    expect(new Set(maps.map((m) => m.join(','))).size).toBe(DEMO_ANIMALS.length);
    const held = DEMO_ANIMALS.find((a) => a.role === 'heldout')!;
    expect(Math.max(...DEMO_TRAINING_SIZES)).toBeLessThanOrEqual(held.nTrain!);
  });
});
