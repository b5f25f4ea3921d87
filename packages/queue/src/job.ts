import type { Purpose } from '@labelq/contracts';

/** BullMQ priorities: lower runs first; jobs without priority run before all prioritized ones, so set both. */
export const PRIORITY: Record<Purpose, number> = { moderation: 1, tagging: 10 };
