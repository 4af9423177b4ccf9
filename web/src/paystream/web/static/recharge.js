// paystream web: the page completing an auto-recharge the bank wants confirmed (only it loads
// this file, so the other pages do not carry it).
(() => {
  "use strict";
  const $ = (s, el = document) => el.querySelector(s);

  // Completing an auto-recharge the bank wants confirmed: follow the recharge live (title,
  // sentence, balance), confirm with Stripe.js (the card it was charged to, the bank's check
  // in Stripe's modal), or in sandbox pass / fail the check without leaving the page.
  const rc = $("#recharge");
  if (rc) {
    const title = $("#recharge-title"), said = $("#recharge-said"), bal = $("#recharge-balance");
    const actions = $("#recharge-actions");
    let timer = 0, after = 0;
    const show = (s) => {
      rc.dataset.state = s.state;
      title.textContent = s.title;
      said.textContent = s.message;
      if (s.balance !== undefined) bal.textContent = s.balance.toLocaleString("en-US");
      actions.hidden = !["needs_confirmation", "declined"].includes(s.state);
    };
    const poll = async () => {
      try {
        const r = await fetch(`/cards/recharge/${rc.dataset.recharge}/status`, { headers: { Accept: "application/json" } });
        if (r.ok) {
          const s = await r.json();
          // A declined confirmation stays said until the recharge moves on.
          if (!(rc.dataset.state === "declined" && s.state === "needs_confirmation")) show(s);
          else bal.textContent = s.balance.toLocaleString("en-US");
          // Paid: the ledger credits a moment later, so keep the balance fresh a little longer.
          if (!s.live && ++after > 20) return;
        }
      } catch (e) { /* the network hiccuped: try again */ }
      timer = setTimeout(poll, 1500);
    };
    timer = setTimeout(poll, 1000);
    window.addEventListener("pagehide", () => clearTimeout(timer));
    document.querySelectorAll("form[data-sandbox-confirm]").forEach((f) => {
      f.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const btns = document.querySelectorAll("form[data-sandbox-confirm] button");
        btns.forEach((b) => { b.disabled = true; });
        try {
          const r = await fetch(f.action, { method: "POST", body: new FormData(f), headers: { Accept: "application/json" } });
          const s = await r.json();
          if (r.ok) show(s); else said.textContent = s.message || "The sandbox bank did not answer.";
        } catch (e) { said.textContent = "The sandbox bank did not answer."; }
        btns.forEach((b) => { b.disabled = false; });
      });
    });
    const cf = $("#recharge-confirm");
    if (cf) {
      window.addEventListener("load", () => {
        if (!window.Stripe) return;
        const stripe = window.Stripe(cf.dataset.publishableKey);
        $("#stripe-confirm").addEventListener("click", async () => {
          // Charged off-session, the intent names its card (or its last error does).
          const { paymentIntent: pi } = await stripe.retrievePaymentIntent(cf.dataset.clientSecret);
          const pm = pi && (pi.payment_method || (pi.last_payment_error && pi.last_payment_error.payment_method && pi.last_payment_error.payment_method.id));
          const { error } = await stripe.confirmCardPayment(cf.dataset.clientSecret, pm ? { payment_method: pm } : {});
          if (error) show({ state: "declined", title: "Your bank declined the payment", message: `${error.message} Nothing was charged. You can try again, or add another card and choose it for auto-recharge on the cards page.` });
          else show({ state: "processing", title: "Waiting for your bank's answer", message: "Confirmed: waiting for your bank's answer. This page updates by itself." });
        });
      });
    }
  }
})();
