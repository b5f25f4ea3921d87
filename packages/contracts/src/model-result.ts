import { z } from 'zod';
import { modelNameSchema } from './ids.ts';

/** Which model files produced a result: name, manifest version and the .onnx file's sha256. */
export const modelRefSchema = z.object({
  name: modelNameSchema,
  version: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ModelRef = z.infer<typeof modelRefSchema>;

const confidence = z.number().min(0).max(1);

export const labelScoreSchema = z.object({ name: z.string().min(1), confidence });
export type LabelScore = z.infer<typeof labelScoreSchema>;

/** A box in normalised image coordinates: x, y of the top-left corner, all in [0, 1] of the original image. */
export const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
export type Box = z.infer<typeof boxSchema>;

export const instanceSchema = z.object({ label: z.string().min(1), confidence, box: boxSchema });
export type Instance = z.infer<typeof instanceSchema>;

/** `classify`: a whole-image classifier's labels, highest confidence first. */
export const classifyResultSchema = z.object({
  task: z.literal('classify'),
  model: modelRefSchema,
  labels: z.array(labelScoreSchema),
});

/** `detect`: an object detector's instances, and per class its best instance score as labels. */
export const detectResultSchema = z.object({
  task: z.literal('detect'),
  model: modelRefSchema,
  /** Sorted by confidence, highest first: the best instance score per class. */
  labels: z.array(labelScoreSchema),
  /** Highest confidence first; boxes normalised to the original image. */
  instances: z.array(instanceSchema),
});

export const faceSchema = z.object({ confidence, box: boxSchema });
export type Face = z.infer<typeof faceSchema>;

/** `faces`: how many faces a face detector found and where (no identity, age or other attributes). */
export const facesResultSchema = z.object({
  task: z.literal('faces'),
  model: modelRefSchema,
  /** `faces.length`, stated for readers that only need the number. */
  count: z.number().int().nonnegative(),
  /** Highest confidence first; boxes normalised to the original image. */
  faces: z.array(faceSchema),
});

export const textLineSchema = z.object({
  /** The recognised text of one line (horizontal text; rotated lines are not read). */
  text: z.string(),
  /** Mean per-character confidence of the recognition. */
  confidence,
  /** The line's box, normalised to the original image. */
  box: boxSchema,
});
export type TextLine = z.infer<typeof textLineSchema>;

/** `text`: lines of text read by OCR, top to bottom. */
export const textResultSchema = z.object({
  task: z.literal('text'),
  model: modelRefSchema,
  lines: z.array(textLineSchema),
});

/**
 * One model's output for one image, as every surface returns it (pool, CLI, documents, API), keyed by the
 * model's task.
 */
export const modelResultSchema = z.discriminatedUnion('task', [
  classifyResultSchema,
  detectResultSchema,
  facesResultSchema,
  textResultSchema,
]);
export type ModelResult = z.infer<typeof modelResultSchema>;
export type ClassifyResult = z.infer<typeof classifyResultSchema>;
export type DetectResult = z.infer<typeof detectResultSchema>;
export type FacesResult = z.infer<typeof facesResultSchema>;
export type TextResult = z.infer<typeof textResultSchema>;
export type ResultTask = ModelResult['task'];

/** A model entry as result documents v1 stored it: no task; detectors had `instances`. */
export const modelResultV1Schema = z.object({
  model: modelRefSchema,
  labels: z.array(labelScoreSchema),
  instances: z.array(instanceSchema).optional(),
});
export type ModelResultV1 = z.infer<typeof modelResultV1Schema>;

/** A v1 entry in the current shape: with instances it was a detector, otherwise a classifier. Pure. */
export function upgradeModelResultV1(r: ModelResultV1): ModelResult {
  return r.instances === undefined
    ? { task: 'classify', model: r.model, labels: r.labels }
    : { task: 'detect', model: r.model, labels: r.labels, instances: r.instances };
}

/** The labels of a result that has them (classify, detect); empty for faces and text. */
export function resultLabels(r: ModelResult): LabelScore[] {
  return r.task === 'classify' || r.task === 'detect' ? r.labels : [];
}

/** The NSFW categories a moderation policy has thresholds for. */
export const MODERATION_CATEGORIES = ['Porn', 'Hentai', 'Sexy'] as const;
export const moderationCategorySchema = z.enum(MODERATION_CATEGORIES);
export type ModerationCategory = z.infer<typeof moderationCategorySchema>;

export const moderationDecisionSchema = z.enum(['allow', 'review', 'block']);
export type ModerationDecision = z.infer<typeof moderationDecisionSchema>;

/** An NSFW category threshold (the policy's `block` / `review` maps) that triggered. */
export const categoryReasonSchema = z.object({
  category: moderationCategorySchema,
  /** The score that triggered, in [0, 1]. */
  score: confidence,
  /** The policy threshold it met or exceeded. */
  threshold: confidence,
});

/** A policy rule over a classifier's label (`class`) or a detector's instances (`instance`) that triggered. */
export const labelRuleReasonSchema = z.object({
  rule: z.enum(['class', 'instance']),
  /** The model whose output triggered it. */
  model: z.string(),
  label: z.string(),
  /** The best score of that label (class) or of the instances that counted (instance). */
  score: confidence,
  threshold: confidence,
  /** `instance` rules: how many instances reached the threshold. */
  count: z.number().int().positive().optional(),
});

/** A text-blocklist rule that matched OCR text. */
export const textRuleReasonSchema = z.object({
  rule: z.literal('text'),
  model: z.string(),
  /** The blocklist entry that matched: the word, or the pattern as written in the policy. */
  term: z.string(),
  /** The text it matched, as read. */
  match: z.string(),
});

/** Why a decision was taken: an NSFW category threshold (v1 shape, no `rule`) or a policy rule. */
export const moderationReasonSchema = z.union([
  categoryReasonSchema,
  labelRuleReasonSchema,
  textRuleReasonSchema,
]);
export type ModerationReason = z.infer<typeof moderationReasonSchema>;

/** The moderation decision stored with a result when an NSFW model ran. */
export const moderationSchema = z.object({
  decision: moderationDecisionSchema,
  /** The rules that triggered at the decided level, highest score first; empty for `allow`. */
  reasons: z.array(moderationReasonSchema),
  /** The policy version. */
  policy: z.string().min(1),
  /** The models whose scores were used. */
  models: z.array(z.string()),
});
export type Moderation = z.infer<typeof moderationSchema>;
