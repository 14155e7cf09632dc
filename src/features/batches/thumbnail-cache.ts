/**
 * The thumbnails' in-process cache: least recently used first out, bounded by entries and by bytes, so a
 * dashboard scrolling through large batches neither decodes every output again nor grows the API's memory.
 * Keys name the account, the object, its revision (ETag) and the size, so a replaced object or another
 * account never reads an entry made for something else.
 */
export interface ThumbnailCacheOptions {
  maxEntries: number;
  maxBytes: number;
}

export const defaultThumbnailCacheOptions: ThumbnailCacheOptions = {
  maxEntries: 1000,
  maxBytes: 32 * 1024 * 1024,
};

export class ThumbnailCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly options: ThumbnailCacheOptions = defaultThumbnailCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used entry.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.options.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= previous.length;
    }
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [oldest, buffer] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= buffer.length;
    }
  }
}
