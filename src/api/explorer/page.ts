/**
 * The explorer's page (GET /): its layout and styles, no data. Everything
 * the page shows is put in by its script (script.ts, GET /explorer.js) as
 * text; the page loads nothing from elsewhere and has no inline script, so it
 * runs under the CSP "default-src 'self'; style-src 'self' 'unsafe-inline'".
 */

export const EXPLORER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bftchain explorer</title>
<link rel="icon" href="/explorer.svg">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2433; background: #f7f8fa; }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1.2rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h1 a { color: inherit; text-decoration: none; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
  h3 { font-size: .9rem; margin: 1rem 0 .3rem; }
  a { color: #1f5fae; }
  #live { font-size: .85rem; padding: .1rem .5rem; border-radius: .6rem; background: #ddd; }
  #live.on { background: #c8f0d0; } #live.off { background: #f6d0d0; }
  #search { display: flex; gap: .4rem; flex: 1 1 28rem; max-width: 48rem; }
  #q { flex: 1; font: inherit; font-family: ui-monospace, monospace; font-size: .85rem; padding: .3rem .5rem;
    border: 1px solid #c5cad3; border-radius: .3rem; }
  #search button { font: inherit; padding: .3rem .8rem; border: 1px solid #c5cad3; border-radius: .3rem; background: #fff; cursor: pointer; }
  #searchmsg { margin: .4rem 0 0; min-height: 1.2rem; }
  .err { color: #b3261e; } .muted { color: #5b6475; } .warn { color: #a15c00; font-weight: 600; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .5rem; }
  .card { background: #fff; border: 1px solid #e2e5ea; border-radius: .4rem; padding: .5rem .7rem; }
  .card b { display: block; font-size: .75rem; color: #5b6475; font-weight: 500; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: .5rem; }
  .chart { background: #fff; border: 1px solid #e2e5ea; border-radius: .4rem; padding: .3rem .5rem; }
  .chart h3 { margin: .1rem 0; font-size: .8rem; font-weight: 500; color: #5b6475; }
  .chart svg { display: block; width: 100%; height: auto; }
  svg .axis { stroke: #c5cad3; stroke-width: 1; } svg .grid { stroke: #eef0f3; stroke-width: 1; }
  svg text { font: 10px system-ui, sans-serif; fill: #5b6475; }
  svg polyline { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
  svg polyline.s0 { stroke: #1f5fae; } svg polyline.s1 { stroke: #c05621; }
  svg text.s0, svg circle.s0 { fill: #1f5fae; } svg text.s1, svg circle.s1 { fill: #c05621; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #e2e5ea; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
  th { font-size: .75rem; color: #5b6475; font-weight: 500; }
  table.fields th { width: 10rem; vertical-align: top; }
  table.fields td { white-space: normal; word-break: break-all; }
  code, .mono { font-family: ui-monospace, monospace; font-size: .85rem; }
  .failed, .reject { color: #b3261e; } .final, .permit, .ok { color: #1b7a35; }
  .nav { display: flex; gap: 1rem; margin: .3rem 0; }
</style>
</head>
<body>
<header>
  <h1><a href="#/">bftchain explorer</a> <span id="live">connecting</span></h1>
  <form id="search" role="search" autocomplete="off">
    <input id="q" name="q" type="search" spellcheck="false"
      placeholder="block height, tx hash or account address" aria-label="search the chain">
    <button type="submit">Search</button>
  </form>
</header>
<div class="mono" id="who"></div>
<p id="searchmsg" role="status" aria-live="polite"></p>
<main id="detail" hidden></main>
<main id="home">
<h2>Status</h2>
<div class="grid" id="status"></div>
<h2>Last five minutes</h2>
<div class="charts">
  <div class="chart"><h3>final txs per second</h3><svg id="chartrate" role="img" aria-label="final txs per second"></svg></div>
  <div class="chart"><h3>seconds between final blocks</h3><svg id="chartinterval" role="img" aria-label="block interval"></svg></div>
  <div class="chart"><h3>tx rounds this node runs</h3><svg id="chartrounds" role="img" aria-label="tx rounds running and waiting"></svg></div>
</div>
<h2>Validators <span class="muted" id="quorum"></span></h2>
<table><thead><tr><th>validator</th><th>here</th><th>last signed</th><th>signed of the last commit certificates</th><th>evidence</th></tr></thead>
<tbody id="validators"></tbody></table>
<p class="muted">A commit certificate holds the first quorum of signatures its leader gathered: a live validator that answers late signs fewer of them.</p>
<h2>Peers</h2>
<table><thead><tr><th>peer</th><th>role</th><th>height</th><th>latency</th><th>score</th><th>address</th></tr></thead>
<tbody id="peers"></tbody></table>
<h2>Latest blocks</h2>
<table><thead><tr><th>height</th><th>time</th><th>round</th><th>proposer</th><th>txs</th><th>accounts</th><th>hash</th></tr></thead>
<tbody id="blocks"></tbody></table>
<h2>Latest transactions</h2>
<table><thead><tr><th>tx</th><th>status</th><th>reason</th><th>seen</th></tr></thead>
<tbody id="txs"></tbody></table>
</main>
<script src="/explorer.js"></script>
</body>
</html>
`

/** The page's icon (GET /explorer.svg): named by the page, so the browser asks for no other. */
export const EXPLORER_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f5fae"/><path d="M4 4h8v2H4zm0 3h8v2H4zm0 3h8v2H4z" fill="#fff"/></svg>
`
