import type { BatchFilter, SkipReason } from '@labelq/contracts';

/** What a listing knows of an object before anything is read (a manifest line knows only its key). */
export interface ListedObject {
  key: string;
  size?: number;
  lastModified?: Date;
}

/**
 * Why a listed object is skipped before any lookup, or undefined to keep it. Keys ending in `/` are folder
 * markers (console-created "folders"), never images. Size and time filters apply only when the listing says
 * them: a manifest line without a size is not filtered by size (the worker still caps it at MAX_OBJECT_BYTES).
 */
export function filterReason(obj: ListedObject, filter: BatchFilter | undefined): SkipReason | undefined {
  if (obj.key.endsWith('/')) return 'folder';
  if (filter === undefined) return undefined;
  if (filter.extensions !== undefined) {
    const dot = obj.key.lastIndexOf('.');
    const slash = obj.key.lastIndexOf('/');
    const ext = dot > slash ? obj.key.slice(dot + 1).toLowerCase() : '';
    if (!filter.extensions.includes(ext)) return 'extension';
  }
  if (obj.size !== undefined) {
    if (filter.minBytes !== undefined && obj.size < filter.minBytes) return 'too_small';
    if (filter.maxBytes !== undefined && obj.size > filter.maxBytes) return 'too_large';
  }
  if (filter.modifiedAfter !== undefined && obj.lastModified !== undefined) {
    if (obj.lastModified.getTime() < Date.parse(filter.modifiedAfter)) return 'modified_before';
  }
  return undefined;
}
