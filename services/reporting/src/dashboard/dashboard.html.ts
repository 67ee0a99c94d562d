/**
 * The dashboard page: a sign-in form, then three panels filled from `GET /v1/dashboard/summary`
 * with the acquirer key kept in sessionStorage. Charts by Chart.js, served by this service.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admit operations</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; background: #f4f6fa; }
  body { margin: 0; }
  header { background: #1d3557; color: #fff; padding: 12px 24px; display: flex; align-items: center; justify-content: space-between; }
  header h1 { font-size: 20px; margin: 0; }
  main { max-width: 1280px; margin: 0 auto; padding: 16px 24px; }
  section { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); padding: 16px; margin-bottom: 16px; }
  h2 { font-size: 16px; margin: 0 0 12px; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { text-align: right; padding: 6px 8px; border-bottom: 1px solid #e5e8ef; }
  th:first-child, td:first-child, td.l, th.l { text-align: left; }
  .ok { color: #1a7f37; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 16px; }
  .chart { border: 1px solid #e5e8ef; border-radius: 6px; padding: 8px; }
  .chart h3 { font-size: 14px; margin: 0 0 6px; }
  form.login { max-width: 420px; margin: 80px auto; }
  input, button { font: inherit; padding: 8px 10px; }
  input { width: 100%; box-sizing: border-box; margin: 8px 0 12px; }
  button { background: #1d3557; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  #error { color: #c62828; min-height: 1.2em; }
  .muted { color: #6b7280; font-size: 13px; }
</style>
</head>
<body>
<header><h1>Admit — acquirer operations</h1><div><span id="day" class="muted"></span> <button id="logout" hidden>Sign out</button></div></header>
<main>
  <section id="login-panel">
    <form class="login" id="login">
      <h2>Sign in</h2>
      <label for="key">Acquirer API key</label>
      <input id="key" name="key" type="password" autocomplete="off" required>
      <button type="submit">Sign in</button>
      <p id="error" role="alert"></p>
      <p class="muted">The key stays in this tab's session storage and is sent as a bearer token.</p>
    </form>
  </section>
  <div id="app" hidden>
    <section><h2>Sales and refunds by merchant (today)</h2><table id="sales"><thead><tr>
      <th class="l">Merchant</th><th>Currency</th><th>Payments</th><th>Tickets</th><th>Gross</th><th>Refunds</th><th>Fees</th><th>Net</th>
    </tr></thead><tbody></tbody></table></section>
    <section><h2>Reconciliation</h2><table id="recs"><thead><tr>
      <th class="l">File</th><th class="l">Date</th><th>Matched</th><th>Missing in ledger</th><th>Missing in wallet</th><th>Amount</th><th>Fee</th><th class="l">Status</th>
    </tr></thead><tbody></tbody></table></section>
    <section><h2>Visitor flow (admissions per 15 minutes)</h2><div class="charts" id="charts"></div></section>
  </div>
</main>
<script src="/dashboard/chart.umd.min.js"></script>
<script>
(function () {
  var KEY = 'admit.acquirerKey';
  var EXP = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, HUF: 2 };
  function fmt(m) { var e = m.currency in EXP ? EXP[m.currency] : 2; return (m.value / Math.pow(10, e)).toFixed(e); }
  function cell(text, cls) { var td = document.createElement('td'); td.textContent = String(text); if (cls) td.className = cls; return td; }
  function row(tbody, cells) { var tr = document.createElement('tr'); cells.forEach(function (c) { tr.appendChild(c); }); tbody.appendChild(tr); }
  function show(signedIn) {
    document.getElementById('login-panel').hidden = signedIn;
    document.getElementById('app').hidden = !signedIn;
    document.getElementById('logout').hidden = !signedIn;
  }
  var charts = [];
  async function load() {
    var key = sessionStorage.getItem(KEY);
    if (!key) { show(false); return; }
    var res = await fetch('/v1/dashboard/summary', { headers: { authorization: 'Bearer ' + key } });
    if (res.status === 401 || res.status === 403) {
      sessionStorage.removeItem(KEY); show(false);
      document.getElementById('error').textContent = res.status === 401 ? 'Unknown key.' : 'This key has no acquirer scope.';
      return;
    }
    var data = await res.json();
    show(true);
    document.getElementById('day').textContent = 'Business date ' + data.date;
    var sales = document.querySelector('#sales tbody'); sales.textContent = '';
    if (data.sales.length === 0) row(sales, [cell('No sales yet today', 'l')]);
    data.sales.forEach(function (s) {
      row(sales, [cell(s.name, 'l'), cell(s.currency), cell(s.paymentCount), cell(s.ticketCount), cell(fmt(s.gross)),
        cell(fmt(s.refunds)), cell(fmt(s.fees)), cell(fmt(s.net))]);
    });
    var recs = document.querySelector('#recs tbody'); recs.textContent = '';
    if (data.reconciliations.length === 0) row(recs, [cell('No files reconciled yet', 'l')]);
    data.reconciliations.forEach(function (r) {
      var s = r.summary, bad = s.missingInLedger + s.missingInWallet + s.amountMismatch + s.feeMismatch;
      row(recs, [cell(r.kind, 'l'), cell(r.date, 'l'), cell(s.matched), cell(s.missingInLedger), cell(s.missingInWallet),
        cell(s.amountMismatch), cell(s.feeMismatch), cell(bad === 0 ? 'matched' : bad + ' to check', bad === 0 ? 'l ok' : 'l bad')]);
    });
    charts.forEach(function (c) { c.destroy(); }); charts = [];
    var box = document.getElementById('charts'); box.textContent = '';
    data.visitorFlow.forEach(function (f) {
      var div = document.createElement('div'); div.className = 'chart';
      var h = document.createElement('h3');
      h.textContent = f.name + ' — inside now: ' + f.inside + (f.peak ? ', peak ' + f.peak.admissions : '');
      var canvas = document.createElement('canvas'); canvas.height = 180;
      div.appendChild(h); div.appendChild(canvas); box.appendChild(div);
      var tz = f.timezone;
      var labels = f.buckets.map(function (b) {
        return new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit' }).format(new Date(b.start));
      });
      charts.push(new Chart(canvas, {
        type: 'bar',
        data: { labels: labels, datasets: [
          { label: 'Admissions', data: f.buckets.map(function (b) { return b.admissions; }), backgroundColor: '#457b9d' },
          { label: 'Exits', data: f.buckets.map(function (b) { return b.exits; }), backgroundColor: '#e76f51' }
        ] },
        options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      }));
    });
    document.body.setAttribute('data-loaded', 'true');
  }
  document.getElementById('login').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById('key').value.trim());
    document.getElementById('error').textContent = '';
    load();
  });
  document.getElementById('logout').addEventListener('click', function () { sessionStorage.removeItem(KEY); show(false); });
  load();
  setInterval(function () { if (sessionStorage.getItem(KEY)) load(); }, 30000);
})();
</script>
</body>
</html>
`;
