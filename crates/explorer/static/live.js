// Live blocks on the home page: each layer's table subscribes to its node's newHeads over
// WebSocket and prepends new blocks. Everything from the network goes in through textContent.
(function () {
  'use strict';
  const MAX_ROWS = 10;
  const gwei = (hex) => {
    try {
      const wei = BigInt(hex);
      if (wei < 1000n) return wei.toString() + ' wei';
      return String(Number((Number(wei) / 1e9).toFixed(6))) + ' gwei';
    } catch (e) { return '-'; }
  };
  const number = (hex) => {
    try { return BigInt(hex).toString(); } catch (e) { return null; }
  };
  function cell(text) {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
  }
  function follow(table) {
    const layer = table.dataset.layer;
    const url = table.dataset.ws;
    const status = document.getElementById(layer + '-live');
    const head = document.getElementById(layer + '-head');
    const tbody = table.querySelector('tbody');
    let socket;
    try { socket = new WebSocket(url); } catch (e) { if (status) status.textContent = 'offline'; return; }
    socket.onopen = () => {
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
      if (status) status.textContent = 'live';
    };
    socket.onclose = () => { if (status) status.textContent = 'offline'; };
    socket.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      const h = msg && msg.params && msg.params.result;
      if (!h || typeof h !== 'object') return;
      const n = number(h.number);
      if (n === null) return;
      const row = document.createElement('tr');
      row.className = 'new';
      const link = document.createElement('a');
      link.href = '/' + layer + '/block/' + n;
      link.textContent = n;
      const first = document.createElement('td');
      first.appendChild(link);
      row.appendChild(first);
      const full = String(h.hash || '');
      const hash = cell(full.length > 18 ? full.slice(0, 10) + '…' + full.slice(-6) : full);
      hash.className = 'hash';
      row.appendChild(hash);
      row.appendChild(cell('-'));
      row.appendChild(cell(number(h.gasUsed) || '-'));
      row.appendChild(cell(gwei(h.baseFeePerGas)));
      tbody.insertBefore(row, tbody.firstChild);
      while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(tbody.rows.length - 1);
      if (head) { head.textContent = n; head.href = '/' + layer + '/block/' + n; }
    };
  }
  document.querySelectorAll('table.blocks[data-ws]').forEach(follow);
})();
