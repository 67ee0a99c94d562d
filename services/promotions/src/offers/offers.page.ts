import type { Offer } from './offers.dto';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]!);
}

function formatDiscount(d: Offer['discount']): string {
  if ('percentOff' in d) return `${d.percentOff}% off`;
  const { value, currency } = d.amountOff;
  const exp = ['JPY', 'KRW', 'IDR'].includes(currency) ? 0 : 2;
  return `${currency} ${(value / 10 ** exp).toFixed(exp)} off`;
}

/** The visitors' offers page: server-rendered, no framework, mobile first; claims via the JSON API. */
export function renderOffersPage(city: string, offers: Offer[]): string {
  const cards = offers
    .map(
      (o) => `<li class="offer" data-campaign-id="${escapeHtml(o.campaignId)}">
  <h2>${escapeHtml(o.name)}</h2>
  <p class="discount">${escapeHtml(formatDiscount(o.discount))}</p>
  <p class="meta">Valid until ${escapeHtml(o.validTo.slice(0, 10))}${o.remaining !== undefined ? ` · ${o.remaining} left` : ''}</p>
  <form class="claim" data-campaign-id="${escapeHtml(o.campaignId)}">
    <label>Your reference (ticket or phone)<input name="customerReference" required maxlength="255" autocomplete="off"></label>
    <button type="submit">Claim</button>
    <output class="result" aria-live="polite"></output>
  </form>
</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Offers in ${escapeHtml(city)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 1rem; background: #f6f7f9; color: #1d2330; }
  h1 { font-size: 1.4rem; }
  ul { list-style: none; padding: 0; margin: 0; display: grid; gap: 1rem; }
  .offer { background: #fff; border-radius: 12px; padding: 1rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  .offer h2 { margin: 0 0 .25rem; font-size: 1.1rem; }
  .discount { font-size: 1.3rem; font-weight: 700; color: #c0392b; margin: .25rem 0; }
  .meta { color: #667; margin: 0 0 .75rem; font-size: .9rem; }
  label { display: block; font-size: .9rem; }
  input { display: block; width: 100%; box-sizing: border-box; padding: .6rem; margin: .25rem 0 .5rem; font-size: 1rem; border: 1px solid #bbc; border-radius: 8px; }
  button { width: 100%; padding: .75rem; font-size: 1rem; border: 0; border-radius: 8px; background: #1d6fe0; color: #fff; }
  output { display: block; margin-top: .5rem; font-weight: 600; }
  .code { font-family: ui-monospace, monospace; font-size: 1.2rem; letter-spacing: .1em; }
  @media (min-width: 720px) { ul { grid-template-columns: repeat(2, 1fr); } }
</style>
</head>
<body>
<h1>Offers in ${escapeHtml(city)}</h1>
${offers.length === 0 ? '<p class="empty">No offers right now.</p>' : `<ul>\n${cards}\n</ul>`}
<script>
document.querySelectorAll('form.claim').forEach(function (form) {
  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var out = form.querySelector('output');
    var ref = form.querySelector('input[name=customerReference]').value;
    out.textContent = 'Claiming…';
    try {
      var res = await fetch('/v1/coupons/claim', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ campaignId: form.dataset.campaignId, customerReference: ref })
      });
      var body = await res.json();
      if (res.ok) {
        out.innerHTML = 'Your code: <span class="code"></span>';
        out.querySelector('.code').textContent = body.code;
      } else {
        out.textContent = (body && body.error && body.error.message) || 'Could not claim.';
      }
    } catch (e) {
      out.textContent = 'Network error, try again.';
    }
  });
});
</script>
</body>
</html>
`;
}
