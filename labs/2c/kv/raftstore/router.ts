/**
 * The router: which peer of this store handles region r. Messages and commands find their peer here;
 * a region without an entry has no peer on this store (yet, or any more).
 */
import type { Peer } from './peer.ts';

export class Router {
  private readonly peers = new Map<number, Peer>();

  register(peer: Peer): void {
    this.peers.set(peer.regionId, peer);
  }

  /** Forget region `regionId`'s peer (it was destroyed). */
  close(regionId: number): void {
    this.peers.delete(regionId);
  }

  get(regionId: number): Peer | undefined {
    return this.peers.get(regionId);
  }

  has(regionId: number): boolean {
    return this.peers.has(regionId);
  }

  /** Every peer, in region id order (a deterministic order for ticks). */
  all(): Peer[] {
    return [...this.peers.values()].sort((a, b) => a.regionId - b.regionId);
  }

  regionIds(): number[] {
    return [...this.peers.keys()].sort((a, b) => a - b);
  }
}
