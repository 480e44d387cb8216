/* The cashier screen (/pos). Scanner-first: every scan goes through one ordered queue, the server
   prices the cart (POST /api/v1/pricing/quote) and completes the sale (POST /api/v1/sales).
   Money is integer fen everywhere; amounts typed in yuan are parsed as strings, never floats. */
(function () {
  "use strict";

  function fen(v) {
    const n = Number(v || 0);
    const sign = n < 0 ? "-" : "";
    const a = Math.abs(n);
    return sign + "¥" + Math.trunc(a / 100) + "." + String(a % 100).padStart(2, "0");
  }

  /* "12.5" -> 1250; null when not a valid amount (at most 2 decimals). */
  function yuanToFen(text) {
    const s = String(text || "").trim();
    if (!/^\d{1,9}(\.\d{0,2})?$/.test(s)) return null;
    const [whole, frac = ""] = s.split(".");
    return Number(whole) * 100 + Number((frac + "00").slice(0, 2));
  }

  /* "1.25" -> "1.25" when it is a quantity with at most 3 decimals, else null. */
  function qtyText(text, weighed) {
    const s = String(text || "").trim();
    const re = weighed ? /^\d{1,5}(\.\d{1,3})?$/ : /^\d{1,5}$/;
    if (!re.test(s) || /^0+(\.0*)?$/.test(s)) return null;
    return s;
  }

  /* "2.000" -> "2", "1.250" -> "1.25": quantities as people write them (string work, no float) */
  function qty(text) {
    const s = String(text ?? "");
    if (!/^-?\d+\.\d+$/.test(s)) return s;
    return s.replace(/0+$/, "").replace(/\.$/, "");
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now() + Math.random().toString(16).slice(2);
  }

  let audio;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = ok ? 1200 : 320;
      g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + (ok ? 0.06 : 0.35));
    } catch (e) { /* no audio: the flash still shows */ }
  }

  async function api(method, url, body, headers) {
    const opts = { method, headers: Object.assign({ "Accept": "application/json" }, headers || {}) };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (r.status === 401) { window.location = "/login?next=/pos"; }
    return { ok: r.ok, status: r.status, data };
  }

  function problemText(res, fallback) {
    const d = res && res.data;
    if (!d) return fallback;
    const field = (d.errors || []).map(e => e.message).join(" ");
    return [d.detail, field].filter(Boolean).join(" ") || fallback;
  }

  window.posApp = function (config, t) {
    return {
      cfg: config, t: t,
      lines: [], member: null, coupons: [], manual: [],
      quote: null, stale: false, selected: -1, scan: "", flash: null, busy: false,
      queue: Promise.resolve(), version: 0,
      dialog: null, picker: [], held: [], memberQuery: "", couponCode: "",
      discount: { scope: "order", kind: "percent", value: "" },
      tenders: [], payMethod: "cash", payAmount: "", tendered: "", authCode: "", cardLast4: "", approval: "",
      memberPin: "", idemKey: null, override: { username: "", password: "" }, receipt: null, walletWait: null,
      refund: { receipt: "", sale: null, qty: {}, reason: "", result: null }, closeCash: "",
      replaces: null, // 修改订单: the voided sale this cart replaces ({id, receipt_no})
      fen, qty, lastScanAt: 0,

      init() {
        this.focusLoop();
        // whatever closes a dialog (button, Esc, a click outside, a completed action), the scanner
        // field gets the focus back
        this.$watch("dialog", (v) => { if (!v) this.refocus(); });
        window.addEventListener("keydown", (e) => this.onKey(e));
        this.pushDisplay();
        this.checkPrinter();
        this.openFromLink();
        this.restoreCart();
        setInterval(() => this.checkPrinter(), 15000);
      },

      focusLoop() {
        setInterval(() => {
          if (this.dialog) return;
          const el = this.$refs.scan;
          if (el && document.activeElement !== el && !(document.activeElement || {}).dataset?.keepFocus) el.focus();
        }, 400);
      },

      say(kind, text) {
        this.flash = { kind, text };
        clearTimeout(this._flashTimer);
        this._flashTimer = setTimeout(() => { this.flash = null; }, kind === "danger" ? 6000 : 3000);
      },

      get total() { return this.quote ? this.quote.total : 0; },
      get cashDue() { return this.quote ? this.quote.cash_due : 0; },
      get paid() { return this.tenders.reduce((s, x) => s + x.amount, 0); },
      get remaining() { return Math.max(0, this.total - this.paid); },
      /* pieces: whole quantities add up; a weighed line counts as one piece */
      get itemCount() {
        return this.lines.reduce((n, l) => n + (l.weighed || l.scale ? 1 : (parseInt(l.quantity, 10) || 0)), 0);
      },
      /* change while typing the cash handed over (integer fen); null when there is nothing to show */
      get changePreview() {
        if (this.payMethod !== "cash" || !this.tendered) return null;
        const given = yuanToFen(this.tendered), amount = yuanToFen(this.payAmount);
        if (given === null || amount === null) return null;
        return Math.max(0, given - amount);
      },
      methodName(code) { return (this.t.methods && this.t.methods[code]) || code; },
      closeDialog() {
        if (this.busy && this.dialog === "pay") return; // a payment is on its way: wait for its outcome
        if (this.dialog === "receipt") { this.newSale(); return; }
        this.dialog = null;
        this.refocus();
      },

      /* ---- scanning ------------------------------------------------------------------------ */
      submitScan() {
        const code = this.scan.trim();
        this.scan = "";
        if (!code) { if (this.lines.length) this.openPay(); return; }
        // every scan joins one queue: order is kept even at 20 scans per second
        this.queue = this.queue.then(() => this.lookup(code)).catch(() => {});
      },

      async lookup(code) {
        const url = `/api/v1/products/lookup?code=${encodeURIComponent(code)}&store_id=${this.cfg.store_id}`;
        const res = await api("GET", url);
        if (res.ok) {
          this.addLine(res.data);
          beep(true);
          return;
        }
        if (res.status === 404 && /\D/.test(code)) {
          const s = await api("GET", `/api/v1/products?q=${encodeURIComponent(code)}&status=listed&page_size=12`);
          if (s.ok && s.data.items.length) { this.picker = s.data.items; this.dialog = "picker"; return; }
        }
        beep(false);
        this.say("danger", problemText(res, this.t.unknown));
      },

      pick(p) {
        this.dialog = null;
        this.addLine({ product: p, quantity: "1.000", unit_price: p.price, matched_by: "search", code: p.sku });
        this.refocus();
      },

      addLine(hit) {
        const p = hit.product;
        const scale = hit.matched_by === "scale";
        const existing = this.lines.findIndex(l => l.product_id === p.id && !l.scale && !p.sold_by_weight);
        if (existing >= 0 && !scale) {
          const l = this.lines[existing];
          l.quantity = String(Number(l.quantity) + 1);
          this.selected = existing;
        } else {
          this.lines.push({
            key: uuid(), product_id: p.id, code: scale ? hit.code : null, scale, name: p.name,
            quantity: scale ? hit.quantity : (p.sold_by_weight ? "1.000" : "1"), weighed: p.sold_by_weight,
            unit_price: hit.unit_price, amount: hit.amount, discount: 0, discounts: [], unit: p.unit,
          });
          this.selected = this.lines.length - 1;
        }
        this.changed();
      },

      /* ---- cart changes and pricing ----------------------------------------------------------- */
      changed() {
        this.idemKey = null;
        this.saveCart();
        this.version++; // a quote already on its way is for an older cart: ignore it
        this.stale = true;
        clearTimeout(this._quoteTimer);
        this._quoteTimer = setTimeout(() => this.requote(), 60);
      },

      cartBody() {
        return {
          store_id: this.cfg.store_id,
          lines: this.lines.map(l => l.code ? { code: l.code, quantity: l.scale ? "1" : l.quantity }
                                            : { product_id: l.product_id, quantity: l.quantity }),
          member_id: this.member ? this.member.id : null,
          coupon_codes: this.coupons.map(c => c.code),
          manual_discounts: this.manual.map(m => ({ line_index: m.scope === "line" ? m.line_index : null,
            percent_bp: m.percent_bp || null, amount: m.amount || null, reason: m.reason || "" })),
        };
      },

      async requote() {
        if (!this.lines.length) { this.quote = null; this.pushDisplay(); return; }
        const v = ++this.version;
        const res = await api("POST", "/api/v1/pricing/quote", this.cartBody());
        if (v !== this.version) return; // a newer cart is being priced
        if (!res.ok) { this.say("danger", problemText(res, this.t.error)); return; }
        this.quote = res.data;
        this.stale = false;
        res.data.lines.forEach(q => {
          const l = this.lines[q.index];
          if (l) Object.assign(l, { amount: q.amount, discount: q.discount, discounts: q.discounts,
                                    unit_price: q.unit_price, list_amount: q.list_amount });
        });
        (res.data.coupons || []).forEach(c => {
          const mine = this.coupons.find(x => x.code === c.code);
          if (mine) { mine.usable = c.usable; mine.message = c.message; mine.amount = c.amount; }
        });
        this.pushDisplay();
      },

      select(i) { this.selected = i; this.refocus(); },
      setQty() {
        const l = this.lines[this.selected];
        if (!l) return;
        const q = qtyText(this.scan, l.weighed);
        this.scan = "";
        if (!q) { beep(false); this.say("warning", l.weighed ? this.t.badWeight : this.t.badQty); return; }
        if (l.scale) { this.say("warning", this.t.scaleQty); return; }
        l.quantity = q;
        this.changed();
      },
      bump(delta) {
        const l = this.lines[this.selected];
        if (!l || l.weighed || l.scale) return;
        const n = Number(l.quantity) + delta;
        if (n <= 0) return this.removeLine();
        l.quantity = String(n);
        this.changed();
      },
      removeLine() {
        if (this.selected < 0) return;
        if (!this.cfg.can_remove) { this.say("warning", this.t.noRemove); return; }
        this.lines.splice(this.selected, 1);
        this.manual = this.manual.filter(m => m.scope !== "line");
        this.selected = Math.min(this.selected, this.lines.length - 1);
        this.changed();
      },
      clearCart() {
        this.lines = []; this.member = null; this.coupons = []; this.manual = []; this.quote = null;
        this.replaces = null;
        this.tenders = []; this.selected = -1; this.idemKey = null; this.override = { username: "", password: "" };
        this.saveCart();
        this.pushDisplay();
      },

      /* ---- the cart survives a reload (F5, a tab that crashed): kept in this browser, per terminal. Not kept:
         payments (a wallet payment code or a member's PIN never goes to storage) and manager overrides. ---- */
      cartKey() { return `cloudpos.cart.${this.cfg.terminal_id}`; },
      saveCart() {
        try {
          if (!this.lines.length) { localStorage.removeItem(this.cartKey()); return; }
          const m = this.member;
          localStorage.setItem(this.cartKey(), JSON.stringify({
            store_id: this.cfg.store_id, saved_at: Date.now(), lines: this.lines, manual: this.manual,
            coupons: this.coupons.map(c => ({ code: c.code, usable: null, message: "" })), replaces: this.replaces,
            member: m ? { id: m.id, name: m.name, tier: m.tier, points_balance: m.points_balance } : null,
            paying: this.busy }));
        } catch (e) { /* storage full or switched off: the cart works, it is only not kept */ }
      },
      restoreCart() {
        let c = null;
        try { c = JSON.parse(localStorage.getItem(this.cartKey()) || "null"); } catch (e) { c = null; }
        // a cart of another store, or one left overnight, is no customer waiting at this till
        if (!c || c.store_id !== this.cfg.store_id || !(c.lines || []).length || Date.now() - c.saved_at > 12 * 3600e3) {
          try { localStorage.removeItem(this.cartKey()); } catch (e) { /* nothing kept */ }
          return;
        }
        this.lines = c.lines; this.member = c.member || null; this.coupons = c.coupons || [];
        this.manual = c.manual || []; this.replaces = c.replaces || null; this.selected = this.lines.length - 1;
        this.changed(); // priced again: prices and promotions may have changed since
        // the page went away while a sale was being paid: it may have gone through
        this.say(c.paying ? "danger" : "info", c.paying ? this.t.restoredPaying : this.t.restored);
      },

      /* ---- member, coupons, discounts --------------------------------------------------------- */
      async findMember() {
        const q = this.memberQuery.trim();
        if (!q) return;
        const key = /^1\d{10}$/.test(q) ? "phone" : (/^\d{6,20}$/.test(q) ? "card_no" : (q.length > 20 ? "qr" : "q"));
        const res = await api("GET", `/api/v1/members?${key}=${encodeURIComponent(q)}&page_size=5`);
        const items = res.ok ? (res.data.items || res.data) : [];
        if (!items || !items.length) { beep(false); this.say("danger", problemText(res, this.t.noMember)); return; }
        this.member = items[0];
        this.memberQuery = "";
        this.dialog = null;
        this.say("success", this.t.memberAttached + (this.t.memberAttached.endsWith("\uff1a") ? "" : " ") + this.member.name);
        this.changed();
      },
      detachMember() { this.member = null; this.changed(); },
      addCoupon() {
        const code = this.couponCode.trim().toUpperCase();
        if (!code || this.coupons.find(c => c.code === code)) return;
        this.coupons.push({ code, usable: null, message: "" });
        this.couponCode = "";
        this.dialog = null;
        this.changed();
      },
      removeCoupon(code) { this.coupons = this.coupons.filter(c => c.code !== code); this.changed(); },
      applyDiscount() {
        const d = this.discount;
        const m = { scope: d.scope, line_index: this.selected, reason: d.reason || "" };
        if (d.kind === "percent") {
          const bp = yuanToFen(d.value); // percent with 2 decimals -> basis points, same arithmetic
          if (!bp || bp > 10000) { this.say("warning", this.t.badDiscount); return; }
          m.percent_bp = bp;
        } else {
          const f = yuanToFen(d.value);
          if (!f) { this.say("warning", this.t.badDiscount); return; }
          m.amount = f;
        }
        if (m.scope === "line" && this.selected < 0) { this.say("warning", this.t.pickLine); return; }
        this.manual.push(m);
        this.discount = { scope: "order", kind: "percent", value: "" };
        this.dialog = null;
        this.changed();
      },
      clearDiscounts() { this.manual = []; this.changed(); },

      /* ---- hold / recall ---------------------------------------------------------------------- */
      async hold() {
        if (!this.lines.length) return;
        const note = window.prompt(this.t.holdNote, "") ?? null;
        if (note === null) return;
        const res = await api("POST", "/api/v1/held-carts", {
          store_id: this.cfg.store_id, terminal_id: this.cfg.terminal_id, note: note.slice(0, 200),
          cart: { lines: this.lines, member: this.member, coupons: this.coupons, manual: this.manual,
                  replaces: this.replaces },
          total: this.total });
        if (!res.ok) { this.say("danger", problemText(res, this.t.error)); return; }
        this.clearCart();
        this.say("success", this.t.held);
      },
      async openHeld() {
        const res = await api("GET", `/api/v1/held-carts?store_id=${this.cfg.store_id}`);
        this.held = res.ok ? res.data : [];
        this.dialog = "held";
      },
      async recall(h) {
        if (this.lines.length) { this.say("warning", this.t.finishFirst); return; }
        const res = await api("POST", `/api/v1/held-carts/${h.id}/recall`);
        if (!res.ok) { this.say("danger", problemText(res, this.t.error)); this.openHeld(); return; }
        const c = res.data.cart || {};
        this.lines = c.lines || []; this.member = c.member || null; this.coupons = c.coupons || [];
        this.manual = c.manual || []; this.replaces = c.replaces || null; this.selected = this.lines.length - 1;
        this.dialog = null; this.flash = null; // "Cart held." is no longer true
        this.changed();
      },

      /* ---- payment ------------------------------------------------------------------------- */
      async openPay() {
        // F9 / Enter right after a scan: let the scans and the pricing finish first, never pay a stale total
        await this.queue;
        if (this.stale && this.lines.length) { clearTimeout(this._quoteTimer); await this.requote(); }
        if (!this.lines.length || !this.quote || this.stale) return;
        if (this.quote.approvals && this.quote.approvals.length && !this.override.username) {
          this.dialog = "override"; return;
        }
        this.idemKey = this.idemKey || uuid();
        this.payMethod = this.payMethod || "cash";
        this.payAmount = this.amountText(this.remaining);
        this.tendered = "";
        this.dialog = "pay";
        this.pushDisplay("pay");
      },
      amountText(f) { return Math.trunc(f / 100) + "." + String(f % 100).padStart(2, "0"); },
      quickCash(f) { this.tendered = this.amountText(f); },
      addTender() {
        const amount = yuanToFen(this.payAmount);
        if (!amount) { this.say("warning", this.t.badAmount); return; }
        const t = { method: this.payMethod, amount };
        if (this.payMethod === "cash") {
          const given = this.tendered ? yuanToFen(this.tendered) : amount;
          if (given === null || given < amount) { this.say("warning", this.t.badTendered); return; }
          t.tendered = given;
        } else if (this.payMethod === "card") {
          if (!/^\d{4}$/.test(this.cardLast4)) { this.say("warning", this.t.last4); return; }
          t.card_last4 = this.cardLast4; t.approval_code = this.approval.slice(0, 20);
        } else if (this.payMethod === "wechat" || this.payMethod === "alipay") {
          if (!/^\d{16,24}$/.test(this.authCode.trim())) { this.say("warning", this.t.scanPayCode); return; }
          t.auth_code = this.authCode.trim();
        } else if (this.payMethod === "stored_value") {
          if (!this.member) { this.say("warning", this.t.needMember); return; }
          if (this.memberPin) t.member_pin = this.memberPin;
        } else if (this.payMethod === "points" && !this.member) {
          this.say("warning", this.t.needMember); return;
        }
        if (this.payMethod !== "cash" && amount > this.remaining) { this.say("warning", this.t.tooMuch); return; }
        this.tenders.push(t);
        this.authCode = ""; this.cardLast4 = ""; this.approval = ""; this.memberPin = ""; this.tendered = "";
        this.payAmount = this.amountText(this.remaining);
        this.pushDisplay("pay");
        if (this.remaining === 0) this.complete();
      },
      removeTender(i) { this.tenders.splice(i, 1); this.payAmount = this.amountText(this.remaining); },
      async complete() {
        if (this.busy) return;
        this.busy = true;
        this.saveCart(); // marked as being paid until the answer comes
        const key = this.idemKey || (this.idemKey = uuid());
        const watch = { on: true };
        this.watchWallets(key, watch);
        const body = Object.assign(this.cartBody(), {
          terminal_id: this.cfg.terminal_id,
          lines: this.cartBody().lines,
          payments: this.tenders.map(t => Object.assign({}, t)),
        });
        delete body.manual_discounts;
        body.manual_discounts = this.cartBody().manual_discounts.map(m => Object.assign(
          { scope: m.line_index === null ? "order" : "line" }, m));
        if (this.override.username) body.override = this.override;
        if (this.replaces) body.replaces_id = this.replaces.id;
        let res;
        try {
          res = await api("POST", "/api/v1/sales", body, { "Idempotency-Key": key });
        } catch (e) {
          res = { ok: false, status: 0, data: null }; // the network: the same key may be sent again safely
        } finally {
          watch.on = false; this.walletWait = null; this.busy = false;
        }
        if (res.status === 201) {
          // weighed goods show their unit on the receipt (1.250 千克), as they did in the cart
          const units = Object.fromEntries(this.lines.filter(l => l.weighed && l.unit).map(l => [l.product_id, l.unit]));
          this.receipt = { ...res.data, units };
          this.dialog = "receipt";
          beep(true);
          this.pushDisplay("thanks", res.data);
          this.lines = []; this.member = null; this.coupons = []; this.manual = []; this.quote = null;
          this.replaces = null; this.tenders = []; this.selected = -1; this.idemKey = null; this.override = { username: "", password: "" };
          this.saveCart();
          return;
        }
        this.saveCart(); // no longer being paid
        beep(false);
        if (res.status === 402) {
          // the wallet payment failed and nothing was charged: drop it, keep the others
          const i = res.data && res.data.payment_index;
          if (i !== undefined && i !== null) this.tenders.splice(i, 1);
          this.idemKey = uuid();
        } else if (res.status === 403 && res.data && res.data.code === "approval_required") {
          this.dialog = "override";
        } else if (res.status === 422 || res.status === 409) {
          this.idemKey = uuid();
        }
        this.say("danger", problemText(res, this.t.error));
      },
      /* While the sale request charges WeChat Pay / Alipay (it waits for the outcome, up to the payment
         deadline), ask how it is going: the wallet tender i is paid with the sale's key + ":" + i, and a
         payment whose gateway answered USERPAYING says the customer is typing their password. */
      async watchWallets(key, watch) {
        const wallets = this.tenders.map((t, i) => [t, i]).filter(([t]) => t.method === "wechat" || t.method === "alipay");
        if (!wallets.length) return;
        await new Promise(r => setTimeout(r, 250)); // a quick payment needs no progress at all
        while (watch.on) {
          let shown = null;
          for (const [t, i] of wallets) {
            let res;
            try { res = await api("GET", `/api/v1/payments/by-key/${encodeURIComponent(key + ":" + i)}`); }
            catch (e) { res = { ok: false }; } // only progress: the sale's own answer decides
            if (res.ok && res.data.status === "succeeded") continue;
            shown = { method: t.method, amount: t.amount, waiting: !!(res.ok && res.data.status === "paying" &&
                      ["USERPAYING", "WAIT_BUYER_PAY"].includes(res.data.code)), message: res.ok ? res.data.message : "" };
            break;
          }
          if (!watch.on) return;
          this.walletWait = shown;
          await new Promise(r => setTimeout(r, 400));
        }
      },
      submitOverride() {
        if (!this.override.username || !this.override.password) return;
        this.dialog = null;
        this.openPay();
      },
      newSale() { this.dialog = null; this.receipt = null; this.pushDisplay(); this.refocus(); },

      /* ---- refunds ------------------------------------------------------------------------- */
      async findSale() {
        let no = this.refund.receipt.trim();
        const m = no.match(/\/r\/([^/?#]+)/);
        const url = m ? `/api/v1/receipts/${encodeURIComponent(m[1])}/sale` :
          `/api/v1/sales/by-receipt/${encodeURIComponent(no)}`;
        const res = await api("GET", url);
        if (!res.ok) { beep(false); this.say("danger", problemText(res, this.t.noSale)); return; }
        this.refund.sale = res.data;
        this.refund.qty = {};
        res.data.lines.forEach(l => { this.refund.qty[l.line_no] = ""; });
      },
      async doRefund(all) {
        const s = this.refund.sale;
        if (!s) return;
        const lines = all ? null : s.lines.filter(l => this.refund.qty[l.line_no])
          .map(l => ({ line_no: l.line_no, quantity: String(this.refund.qty[l.line_no]) }));
        if (lines && !lines.length) { this.say("warning", this.t.pickLine); return; }
        const body = { reason: this.refund.reason || this.t.defaultReason, terminal_id: this.cfg.terminal_id };
        if (lines) body.lines = lines;
        if (this.override.username) body.override = this.override;
        const res = await api("POST", `/api/v1/sales/${s.id}/refunds`, body,
                              { "Idempotency-Key": this.refund.key || (this.refund.key = uuid()) });
        if (!res.ok) {
          beep(false); this.say("danger", problemText(res, this.t.error));
          if (res.status === 422) this.refund.key = null;
          return;
        }
        this.refund.result = res.data;
        this.refund.key = null;
        beep(true);
      },
      openRefund() {
        if (!this.cfg.can_refund) { this.say("warning", this.t.noRefund); return; }
        this.refund = { receipt: "", sale: null, qty: {}, reason: "", result: null };
        this.dialog = "refund";
      },
      /* /pos?sale=<receipt no>: the sale page's "Refund" and "Modify order" buttons open the sale here */
      openFromLink() {
        const no = new URLSearchParams(window.location.search).get("sale");
        if (!no) return;
        history.replaceState(null, "", window.location.pathname);
        this.openRefund();
        if (this.dialog !== "refund") return;
        this.refund.receipt = no;
        this.findSale();
      },
      get canCorrect() {
        const s = this.refund.sale;
        return !!(s && this.cfg.can_void && s.kind === "sale" && !s.voided && !s.refunded_total && !this.lines.length);
      },
      /* 修改订单: void the sale (its payments go back as a refund would), then ring it up again with the
         original lines in the cart; the new sale is linked to the voided one (replaces_id). */
      async correctSale() {
        const s = this.refund.sale;
        if (!this.canCorrect) return;
        const reason = this.refund.reason.trim();
        if (!reason) { this.say("warning", this.t.needReason); return; }
        const body = { reason, terminal_id: this.cfg.terminal_id };
        if (this.override.username) body.override = this.override;
        const res = await api("POST", `/api/v1/sales/${s.id}/void`, body,
                              { "Idempotency-Key": this.refund.key || (this.refund.key = uuid()) });
        if (!res.ok) {
          beep(false); this.say("danger", problemText(res, this.t.error));
          if (res.status === 422) this.refund.key = null;
          return;
        }
        this.refund.key = null;
        let member = null;
        if (s.member_id) {
          const m = await api("GET", `/api/v1/members/${s.member_id}`);
          if (m.ok) member = m.data;
        }
        const paid = s.lines.filter(l => !l.is_gift);
        const products = await Promise.all(paid.map(l => api("GET", `/api/v1/products/${l.product_id}`)));
        this.lines = paid.map((l, i) => {
          const p = products[i].ok ? products[i].data : {};
          return {
            key: uuid(), product_id: l.product_id, code: null, scale: false, name: l.name,
            quantity: p.sold_by_weight ? l.quantity : qty(l.quantity), weighed: !!p.sold_by_weight,
            unit_price: l.unit_price, amount: l.list_amount, discount: 0, discounts: [], unit: p.unit || "",
          };
        });
        this.member = member; this.coupons = []; this.manual = []; this.tenders = [];
        this.replaces = { id: s.id, receipt_no: s.receipt_no, voided_by: res.data.receipt_no };
        this.selected = this.lines.length - 1;
        this.dialog = null;
        beep(true);
        this.say("success", this.t.corrected.replace("%(receipt)s", s.receipt_no));
        this.changed();
      },

      /* ---- shift ----------------------------------------------------------------------------- */
      async closeShift() {
        const counted = yuanToFen(this.closeCash);
        if (counted === null) { this.say("warning", this.t.badAmount); return; }
        const res = await api("POST", `/api/v1/shifts/${this.cfg.shift_id}/close`, { counted_cash: counted });
        if (!res.ok) { this.say("danger", problemText(res, this.t.error)); return; }
        window.location = `/shifts/${this.cfg.shift_id}`;
      },

      /* ---- printer problems (打印异常): a receipt that did not print stays queued for retry ---- */
      printerJobs: [],
      async checkPrinter() {
        const res = await api("GET", `/api/v1/print-jobs?terminal_id=${this.cfg.terminal_id}&status=failed&page_size=3`);
        this.printerJobs = res.ok ? res.data.items : [];
      },
      async retryPrint(job) {
        await api("POST", `/api/v1/print-jobs/${job.id}/retry`);
        this.checkPrinter();
        this.refocus();
      },

      /* ---- customer display -------------------------------------------------------------------- */
      pushDisplay(phase, sale) {
        const q = this.quote;
        const state = sale ? {
          phase: "thanks", lines: [], total: sale.total, paid: sale.paid + sale.change, change: sale.change,
        } : {
          phase: phase || "cart",
          lines: this.lines.map(l => ({ name: l.name, quantity: l.quantity, amount: l.amount || 0,
                                         discount: l.discount || 0 })),
          subtotal: q ? q.subtotal : 0, discount_total: q ? q.discount_total : 0, total: q ? q.total : 0,
          paid: this.paid, member: this.member ? this.member.name : "",
          // the customer sees the names of the promotions that apply, not the engine's reasoning
          discounts: [...new Set(this.lines.flatMap(l => (l.discounts || []).map(d => d.name)))],
        };
        clearTimeout(this._displayTimer);
        this._displayTimer = setTimeout(() => {
          // one state at a time, in order: two requests in flight could reach the server swapped and
          // leave the customer looking at the payment screen after the thank-you
          this._displaySent = (this._displaySent || Promise.resolve()).then(() =>
            fetch("/pos/display/state", { method: "POST", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify(state) })).catch(() => {});
        }, 50);
      },

      /* ---- keyboard ------------------------------------------------------------------------- */
      onKey(e) {
        const map = { F1: () => { this.dialog = this.dialog === "help" ? null : "help"; },
          F2: () => { this.dialog = "member"; }, F3: () => { this.dialog = "coupon"; },
          F4: () => { if (this.cfg.can_discount) this.dialog = "discount"; }, F6: () => this.hold(),
          F7: () => this.openHeld(), F8: () => this.removeLine(), F9: () => this.openPay(),
          F10: () => this.openRefund() };
        if (this.busy && (map[e.key] || e.key === "Escape")) { e.preventDefault(); return; } // paying: wait
        if (map[e.key]) {
          e.preventDefault();
          if (this.dialog === "receipt") this.newSale(); // any action after a sale starts the next customer
          map[e.key]();
          return;
        }
        if (e.key === "Escape") { if (this.dialog) this.closeDialog(); return; }
        if (this.dialog) return;
        if (e.key === "ArrowUp") { e.preventDefault(); this.selected = Math.max(0, this.selected - 1); }
        else if (e.key === "ArrowDown") { e.preventDefault(); this.selected = Math.min(this.lines.length - 1, this.selected + 1); }
        else if (e.key === "Delete") { e.preventDefault(); this.removeLine(); }
        else if ((e.key === "+" || e.key === "-") && !this.scan) { e.preventDefault(); this.bump(e.key === "+" ? 1 : -1); }
        else if (e.key === "*") { e.preventDefault(); this.setQty(); }
      },
      /* the on-screen keypad (touch screens): digits go to the scan field like typed ones */
      key(k) {
        if (k === "C") this.scan = "";
        else if (k === "⌫") this.scan = this.scan.slice(0, -1);
        else if (k === "*") this.setQty();
        else if (k === "↵") this.submitScan();
        else this.scan += k;
        this.refocus();
      },
      refocus() { this.$nextTick(() => { if (!this.dialog && this.$refs.scan) this.$refs.scan.focus(); }); },
    };
  };

  /* The customer display: follows the terminal's state by server-sent events. */
  window.displayApp = function () {
    return {
      s: { phase: "idle", lines: [] }, fen, qty,
      init() {
        const es = new EventSource("/pos/display/stream");
        es.onmessage = (e) => { try { this.s = JSON.parse(e.data); } catch (err) { /* ignore */ } };
      },
    };
  };
})();
