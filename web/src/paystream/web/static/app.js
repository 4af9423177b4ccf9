// paystream web: small enhancements of pages that work without JavaScript.
(() => {
  "use strict";
  const $ = (s, el = document) => el.querySelector(s);

  // Live order status: poll this app (same origin, the session cookie) until the order leaves
  // "pending", say so in the live region, then show the result page.
  const live = $("[data-live]");
  if (live) {
    const id = live.dataset.order;
    const status = $("#order-status");
    let timer = 0;
    const poll = async () => {
      try {
        // The return page asks the provider too (sync=1), the pay page only checkout.
        const sync = live.dataset.sync ? "?sync=1" : "";
        const r = await fetch(`/orders/${id}/status${sync}`, { headers: { Accept: "application/json" } });
        if (r.ok) {
          const s = await r.json();
          if (status && status.dataset.status !== s.status) {
            status.dataset.status = s.status;
            status.textContent = s.label;
          }
          if (s.status !== "pending") {
            setTimeout(() => location.assign(s.return_url), 1200);
            return;
          }
        }
      } catch (e) { /* the network hiccuped: try again */ }
      timer = setTimeout(poll, 1500);
    };
    timer = setTimeout(poll, 1000);
    window.addEventListener("pagehide", () => clearTimeout(timer));
  }

  // Countdown to the order's expiry.
  const expires = $("#expires"), countdown = $("#countdown");
  if (expires && countdown) {
    const end = Date.parse(expires.getAttribute("datetime"));
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      const m = Math.floor(left / 60), s = String(left % 60).padStart(2, "0");
      countdown.textContent = left ? `(${m}:${s} left)` : "(time is up)";
      if (left) setTimeout(tick, 1000);
    };
    tick();
  }

  // Copy buttons (USDT address and exact amount).
  document.querySelectorAll("button[data-copy]").forEach((b) => {
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent.trim();
      try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; }
      catch (e) { getSelection().selectAllChildren(document.getElementById(b.dataset.copy)); b.textContent = "Selected: press Ctrl+C"; }
    });
  });

  // Sandbox: complete the payment without leaving the page, so the status moves live.
  const sb = $("form[data-sandbox-pay]");
  if (sb) {
    sb.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const btn = $("button", sb), said = $("#sandbox-said");
      btn.disabled = true;
      const r = await fetch(sb.action, { method: "POST", headers: { Accept: "application/json" } });
      said.textContent = r.ok ? "Sent as the provider would; waiting for paystream to see it…" : "The sandbox payment failed.";
      if (!r.ok) btn.disabled = false;
    });
  }

  // Currency select: show the prices at once.
  const cur = $("select[data-autosubmit]");
  if (cur) cur.addEventListener("change", () => cur.form.submit());

  // Stripe Payment Element, when a publishable key is configured.
  const pe = $("#payment-element");
  if (pe) {
    window.addEventListener("load", () => {
      if (!window.Stripe) return;
      const stripe = window.Stripe(pe.dataset.publishableKey);
      const elements = stripe.elements({ clientSecret: pe.dataset.clientSecret });
      elements.create("payment").mount(pe);
      $("#stripe-pay").addEventListener("click", () => stripe.confirmPayment({
        elements, confirmParams: { return_url: new URL(pe.dataset.returnUrl, location.href).href },
      }));
    });
  }

  // Saving a card: Stripe's Payment Element confirms checkout's SetupIntent, when a publishable
  // key is configured (the secret is asked for only then, so a visit makes no SetupIntent).
  const se = $("#setup-element");
  if (se) {
    window.addEventListener("load", async () => {
      if (!window.Stripe) return;
      const said = $("#setup-said");
      const r = await fetch("/cards/setup", { method: "POST", headers: { Accept: "application/json" } });
      const body = await r.json();
      if (!r.ok) { said.textContent = body.error || "Cards cannot be added just now."; return; }
      const stripe = window.Stripe(se.dataset.publishableKey);
      const elements = stripe.elements({ clientSecret: body.client_secret });
      elements.create("payment").mount(se);
      $("#stripe-save-card").addEventListener("click", async () => {
        const { error } = await stripe.confirmSetup({
          elements, confirmParams: { return_url: new URL(se.dataset.returnUrl, location.href).href },
        });
        if (error) said.textContent = error.message;
      });
    });
  }
})();
