import type { Box, Instance, ModelResult } from '@labelq/contracts';

/**
 * COCO classes whose faces BlazeFace can mistake for human ones (it scores cats' and dogs' faces like small
 * human faces). A teddy bear has a face too.
 */
export const ANIMAL_CLASSES: ReadonlySet<string> = new Set([
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'teddy bear',
]);

/** The class whose boxes vouch for a face even when an animal box overlaps it (a person holding a cat). */
export const PERSON_CLASS = 'person';

/** How much of a face box must lie inside a detection for the detection to count as containing it. */
export const FACE_INSIDE_FRACTION = 0.8;

/** Share of `inner`'s area that lies inside `outer` (0 for an empty `inner`). Boxes in the same units. Pure. */
export function fractionInside(inner: Box, outer: Box): number {
  const area = inner.width * inner.height;
  if (!(area > 0)) return 0;
  const w = Math.min(inner.x + inner.width, outer.x + outer.width) - Math.max(inner.x, outer.x);
  const h = Math.min(inner.y + inner.height, outer.y + outer.height) - Math.max(inner.y, outer.y);
  return w > 0 && h > 0 ? (w * h) / area : 0;
}

/**
 * Cross-model evidence against animal faces. A face found by a `faces` model is not counted as a human face
 * when at least {@link FACE_INSIDE_FRACTION} of its box lies inside an instance of an {@link ANIMAL_CLASSES}
 * class reported by any `detect` model on the same image, and not inside any `person` instance. Both models'
 * boxes are normalised to the original image, so they compare directly. The detector's evidence is what it
 * reported (its instances after the request's `minConfidence`).
 *
 * Without a detector result (faces requested alone) every entry is returned unchanged: the faces model's own
 * threshold decides. Entries other than `faces` are never changed; the input is not mutated. Pure.
 */
export function suppressAnimalFaces(results: readonly ModelResult[]): ModelResult[] {
  const animals: Instance[] = [];
  const people: Instance[] = [];
  for (const r of results) {
    if (r.task !== 'detect') continue;
    for (const inst of r.instances) {
      if (inst.label === PERSON_CLASS) people.push(inst);
      else if (ANIMAL_CLASSES.has(inst.label)) animals.push(inst);
    }
  }
  if (animals.length === 0) return [...results];
  const inside = (face: Box, boxes: Instance[]): boolean =>
    boxes.some((b) => fractionInside(face, b.box) >= FACE_INSIDE_FRACTION);
  return results.map((r) => {
    if (r.task !== 'faces') return r;
    const faces = r.faces.filter((f) => !inside(f.box, animals) || inside(f.box, people));
    return faces.length === r.faces.length ? r : { ...r, count: faces.length, faces };
  });
}
