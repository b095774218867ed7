// Following a log's tail: a scrolled panel (the console, the transcript) stays at the bottom while
// the reader is there, and keeps the reader's place when they scrolled up, across every redraw and
// across views: the state ({following, anchor}) is the caller's, and the widget keeps it per model,
// so the view its output renders again on each phase change starts where the last one was (a new
// view used to start at the top: "loading cmbagent…" mid-run).

/** Is `node` scrolled to (within `slack` px of) its bottom? An unlaid-out node counts as there. */
export function atBottom(node, slack = 8) {
  return node.scrollHeight - node.scrollTop - node.clientHeight <= slack;
}

/** A fresh follow state: following the tail, no anchor. */
export function followState() {
  return { following: true, anchor: null };
}

export class Follower {
  /**
   * @param {HTMLElement} scroller
   * @param {{following: boolean, anchor: any}} state kept by the caller (per model in the widget)
   * @param {{anchor: () => any, restore: (anchor: any) => void, onChange?: (following: boolean) => void}} how
   *   `anchor()`: where the reader is (e.g. the first line shown and the offset into it);
   *   `restore(anchor)`: scroll back there after a redraw
   */
  constructor(scroller, state, how) {
    this.scroller = scroller;
    this.state = state;
    this.how = how;
    // Our own settling scrolls too: reading it back gives the same state (the bottom, or the anchor).
    this.onScroll = () => {
      if (this.scroller.clientHeight > 0) this.read(); // hidden (another tab): nothing to learn
    };
    scroller.addEventListener("scroll", this.onScroll, { passive: true });
    // Shown (a tab opened, the output attached) or resized: back to the tail or the place.
    this.resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => this.settle());
    this.resize?.observe(scroller);
    this.how.onChange?.(this.state.following);
  }

  /** Reads the reader's position (after a scroll of theirs). */
  read() {
    const following = atBottom(this.scroller);
    const changed = following !== this.state.following;
    this.state.following = following;
    this.state.anchor = following ? null : this.how.anchor();
    if (changed) this.how.onChange?.(following);
  }

  /** After a redraw: to the bottom when following, else back to the anchor. */
  settle() {
    if (this.scroller.clientHeight === 0) return;
    if (this.state.following) this.scroller.scrollTop = this.scroller.scrollHeight;
    else if (this.state.anchor != null) this.how.restore(this.state.anchor);
  }

  /** Follows the tail again ("Jump to latest"). */
  jump() {
    this.state.following = true;
    this.state.anchor = null;
    this.settle();
    this.how.onChange?.(true);
  }

  /** Stops following and stays at the anchor given (e.g. an item revealed). */
  hold(anchor) {
    this.state.following = false;
    this.state.anchor = anchor;
    this.settle();
    this.how.onChange?.(false);
  }

  disconnect() {
    this.scroller.removeEventListener("scroll", this.onScroll);
    this.resize?.disconnect();
  }
}
