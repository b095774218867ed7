// Row heights of a virtualized list: a Fenwick tree of heights, so the top of row i and the row at
// a scroll offset are O(log n) whatever the number of rows (100k transcript items), a measured row
// corrects its estimate and a new row is added in O(log n). Pure (js/test/heights.test.js).

export class Heights {
  /** @param {number[] | Float64Array} heights one per row (estimates, corrected by `set`) */
  constructor(heights) {
    const n = heights.length;
    this.n = n;
    this.values = new Float64Array(Math.max(n, 16));
    this.values.set(heights);
    this.tree = new Float64Array(this.values.length + 1);
    for (let i = 0; i < n; i++) {
      this.tree[i + 1] += this.values[i];
      const parent = i + 1 + ((i + 1) & -(i + 1));
      if (parent <= n) this.tree[parent] += this.tree[i + 1];
    }
  }

  get total() {
    return this.top(this.n);
  }

  /** The height of row i. */
  get(i) {
    return this.values[i];
  }

  /** Row i is `h` high (measured); returns the change. */
  set(i, h) {
    const delta = h - this.values[i];
    if (delta === 0) return 0;
    this.values[i] = h;
    for (let k = i + 1; k <= this.n; k += k & -k) this.tree[k] += delta;
    return delta;
  }

  /** Adds a row of height `h` at the end. */
  push(h) {
    if (this.n === this.values.length) {
      const values = new Float64Array(this.values.length * 2);
      values.set(this.values);
      const tree = new Float64Array(values.length + 1);
      tree.set(this.tree);
      this.values = values;
      this.tree = tree;
    }
    const k = this.n + 1; // tree[k] sums the rows (k - lowbit(k), k]
    this.tree[k] = h + this.top(k - 1) - this.top(k - (k & -k));
    this.values[this.n] = h;
    this.n = k;
  }

  /** The offset of row i's top (the sum of rows 0..i-1); `top(n)` is the total. */
  top(i) {
    let sum = 0;
    for (let k = Math.min(i, this.n); k > 0; k -= k & -k) sum += this.tree[k];
    return sum;
  }

  /** The row at `offset` (the last row whose top is <= offset); 0 for an empty list. */
  at(offset) {
    let pos = 0;
    let rest = offset;
    let step = 1;
    while (step * 2 <= this.n) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.n && this.tree[next] <= rest) {
        pos = next;
        rest -= this.tree[next];
      }
    }
    return Math.min(pos, Math.max(this.n - 1, 0));
  }
}
