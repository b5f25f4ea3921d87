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

/** One model's output for one image, as every surface returns it (pool, CLI, documents, API). */
export const modelResultSchema = z.object({
  model: modelRefSchema,
  /** Sorted by confidence, highest first. For detectors: the best instance score per class. */
  labels: z.array(labelScoreSchema),
  /** Detectors only. */
  instances: z.array(instanceSchema).optional(),
});
export type ModelResult = z.infer<typeof modelResultSchema>;

/** The NSFW categories a moderation policy has thresholds for. */
export const MODERATION_CATEGORIES = ['Porn', 'Hentai', 'Sexy'] as const;
export const moderationCategorySchema = z.enum(MODERATION_CATEGORIES);
export type ModerationCategory = z.infer<typeof moderationCategorySchema>;

export const moderationDecisionSchema = z.enum(['allow', 'review', 'block']);
export type ModerationDecision = z.infer<typeof moderationDecisionSchema>;

export const moderationReasonSchema = z.object({
  category: moderationCategorySchema,
  /** The score that triggered, in [0, 1]. */
  score: confidence,
  /** The policy threshold it met or exceeded. */
  threshold: confidence,
});
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
