/**
 * The serialised items of the store, the I/O shell around serialBook.ts: loads the book from
 * kiosk.db at start, adds each sale's serials the moment it is committed, keeps ops' exemptions
 * durable before they take effect, and reloads the feed's flags after each applied `serials` feed.
 */
import type { Logger } from '../log.js';
import { SerialBook } from './serialBook.js';
import { serialsOfSale, type Exemption, type SerialStore } from './serialStore.js';
import { SerialFeed, type SerialFeedOptions } from './serialFeed.js';

export class Serials {
  readonly book = new SerialBook();
  /** HQ's `serials` feed intake; null without HQ (or before startFeed). */
  feed: SerialFeed | null = null;
  private readonly log: Logger;

  constructor(private readonly o: { store: SerialStore; log: Logger; now: () => number }) {
    this.log = o.log.child({ module: 'serials' });
  }

  async start(): Promise<void> {
    const sold = await this.o.store.soldSerials();
    this.book.addSold(sold);
    await this.reloadFlags();
    const exemptions = await this.o.store.exemptions(this.o.now());
    for (const e of exemptions) this.book.setExemption(e);
    this.log.info({ sold: this.book.soldCount, exemptions: exemptions.length }, 'serialised items loaded');
  }

  /** Starts HQ's `serials` feed (the kiosk service's HQ link, when it has one). */
  async startFeed(o: Omit<SerialFeedOptions, 'store' | 'onApplied' | 'log' | 'now' | 'clientId'>): Promise<void> {
    this.feed = new SerialFeed({ ...o, clientId: `storegw-${o.storeId}-serials`, store: this.o.store, onApplied: () => this.reloadFlags(), log: this.o.log, now: this.o.now });
    await this.feed.start();
  }

  async stop(): Promise<void> {
    await this.feed?.stop().catch((err: Error) => this.log.warn({ err }, 'serials feed stop failed'));
  }

  /** A sale was committed (its serials are in kiosk.db): they are sold from now on. */
  committed(record: { transactionId: string; lines: readonly { gtin: string; serials?: readonly string[] }[] }): void {
    this.book.addSold(serialsOfSale(record));
  }

  async reloadFlags(): Promise<void> {
    this.book.setFlags(await this.o.store.flags());
  }

  /** The exemptions running now. */
  exemptions(): Promise<Exemption[]> {
    return this.o.store.exemptions(this.o.now());
  }

  /** Exempts a tag from the exit gate until `e.until` (durable first, then in effect). */
  async exempt(e: Exemption): Promise<void> {
    await this.o.store.exempt(e);
    this.book.setExemption(e);
    this.log.info({ gtin: e.gtin, serial: e.serial, until: new Date(e.until).toISOString(), by: e.by, reason: e.reason }, 'tag exempted from the exit gate');
  }
}
