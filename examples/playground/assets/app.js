// The playground's page: it draws what the server's run sends (Server-Sent Events) and sends
// the learner's choices back. All training happens on the server, in Rust.
'use strict';

const $ = (id) => document.getElementById(id);
const selfTest = new URLSearchParams(location.search).has('self-test');
const pageErrors = []; // the first 20, for the self-test's report
const noteError = (text) => { if (pageErrors.length < 20) pageErrors.push(text); };
window.addEventListener('error', (event) => noteError(String(event.message)));
window.addEventListener('unhandledrejection', (event) => noteError(`unhandled rejection: ${event.reason}`));

// The self-test holds the page's load event with this request, which the server answers once
// the report is in: Chromium's --screenshot, taken at load, then shows the trained page.
if (selfTest) {
  const hold = document.createElement('img');
  hold.hidden = true;
  hold.src = '/api/self-test/wait';
  document.body.appendChild(hold);
}

let runId = null;
let limits = null;
let data = null; // points, labels, colours, bounds
let latest = null; // the last frame
let shownSettings = ''; // the settings the form shows, as JSON

// ---- messages -------------------------------------------------------------------------------

function showMessage(text, kind) {
  const box = $('message');
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
}

function clearMessage() {
  $('message').hidden = true;
  document.querySelectorAll('input.refused').forEach((input) => input.classList.remove('refused'));
}

// ---- talking to the run ---------------------------------------------------------------------

async function post(path, body, headers) {
  try {
    const response = await fetch(path, { method: 'POST', headers, body });
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (!response.ok) {
      showMessage(answer.error, 'error');
      return false;
    }
    return true;
  } catch (error) {
    showMessage(`the server cannot be reached: ${error.message}`, 'error');
    return false;
  }
}

// The run ends after a few seconds without a word from its page (the server's
// silence_timeout_ms): a client that stops reading its stream must not hold a run. The page
// speaks up at each event it reads, so a tab that reads keeps its run.
let lastAlive = 0;
let aliveEvery = 1000; // ms; a fifth of the server's silence timeout, from its hello
function keepAlive() {
  if (runId === null || Date.now() - lastAlive < aliveEvery) return;
  lastAlive = Date.now();
  fetch(`/api/runs/${runId}/command`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"action":"alive"}',
  }).catch(() => {}); // a lost connection shows through the stream's own error
}

async function send(command) {
  if (runId === null) return false;
  const sent = await post(`/api/runs/${runId}/command`, JSON.stringify(command), { 'Content-Type': 'application/json' });
  if (sent && !(latest && latest.diverged)) clearMessage();
  return sent;
}

const numberFields = {
  samples: 'points', noise: 'noise', seed: 'seed', hidden1: 'units, layer 1', hidden2: 'units, layer 2',
  learning_rate: 'learning rate', l2: 'L2 strength',
};

// The form's settings, or null (with a message) if a field does not hold a number.
function formSettings() {
  const numbers = {};
  for (const [id, name] of Object.entries(numberFields)) {
    const text = $(id).value.trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) {
      showMessage(`${name}: '${text}' is not a number`, 'error');
      $(id).classList.add('refused');
      return null;
    }
    numbers[id] = value;
  }
  const hidden = [numbers.hidden1];
  if ($('layers').value === '2') hidden.push(numbers.hidden2);
  return {
    dataset: $('dataset').value, samples: numbers.samples, noise: numbers.noise, seed: numbers.seed,
    hidden, activation: $('activation').value, learning_rate: numbers.learning_rate, l2: numbers.l2,
    loss: $('loss').value,
  };
}

function fillForm(settings) {
  shownSettings = JSON.stringify(settings);
  if (settings.dataset === 'csv') $('dataset').querySelector('option[value=csv]').disabled = false;
  $('dataset').value = settings.dataset;
  $('samples').value = settings.samples;
  $('noise').value = settings.noise;
  $('seed').value = settings.seed;
  $('layers').value = String(settings.hidden.length);
  $('hidden1').value = settings.hidden[0];
  if (settings.hidden.length > 1) $('hidden2').value = settings.hidden[1];
  $('hidden2-label').hidden = settings.hidden.length < 2;
  $('activation').value = settings.activation;
  $('learning_rate').value = settings.learning_rate;
  $('l2').value = settings.l2;
  $('loss').value = settings.loss;
}

async function applyForm(event) {
  const settings = formSettings();
  $('hidden2-label').hidden = $('layers').value !== '2';
  const refused = () => {
    if (event && event.target.tagName === 'INPUT') event.target.classList.add('refused');
    if (latest) fillForm(latest.settings); // the run goes on with what it had
  };
  if (settings === null) return;
  if (!(await send({ action: 'apply', settings }))) refused();
}

// ---- drawing --------------------------------------------------------------------------------

const rgb = (hex) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));

// The logits come on a grid of cell centres, each as hundredths below its cell's largest; each
// pixel of the canvas takes the class whose logit, bilinearly interpolated from the four
// nearest centres, is largest, so the boundaries are smooth curves rather than steps of a cell.
function drawRegions(frame) {
  const canvas = $('regions');
  const context = canvas.getContext('2d');
  if (!data) return;
  const [xMin, xMax, yMin, yMax] = data.bounds;
  const { side, classes, scores } = frame.regions;
  const colours = data.region_colours.map(rgb);
  const [width, height] = [canvas.width, canvas.height];
  const image = context.createImageData(width, height);
  const clamp = (index) => Math.min(side - 1, Math.max(0, index));
  const argmax = new Uint8Array(side * side); // each cell's class: 0 below the largest
  for (let cell = 0; cell < side * side; cell++) {
    for (let c = 0; c < classes; c++) if (scores[cell * classes + c] === 0) { argmax[cell] = c; break; }
  }
  const pixels = new Uint32Array(image.data.buffer); // one 32-bit RGBA word a pixel
  const words = colours.map(([r, g, b]) => new Uint32Array(new Uint8ClampedArray([r, g, b, 255]).buffer)[0]);
  const columns = Array.from({ length: width }, (_, x) => {
    const u = ((x + 0.5) / width) * side - 0.5;
    return [clamp(Math.floor(u)), clamp(Math.floor(u) + 1), u - Math.floor(u)];
  });
  for (let y = 0; y < height; y++) {
    const v = ((y + 0.5) / height) * side - 0.5;
    const dy = v - Math.floor(v);
    const [top, bottom] = [clamp(Math.floor(v)) * side, clamp(Math.floor(v) + 1) * side];
    for (let x = 0; x < width; x++) {
      const [left, right, dx] = columns[x];
      const [a, b, c, d] = [top + left, top + right, bottom + left, bottom + right];
      let predicted = argmax[a];
      if (argmax[b] !== predicted || argmax[c] !== predicted || argmax[d] !== predicted) {
        // Near a boundary: the class of the largest interpolated logit.
        const [wa, wb, wc, wd] = [(1 - dx) * (1 - dy), dx * (1 - dy), (1 - dx) * dy, dx * dy];
        let best = -Infinity;
        for (let k = 0; k < classes; k++) {
          const score = wa * scores[a * classes + k] + wb * scores[b * classes + k]
            + wc * scores[c * classes + k] + wd * scores[d * classes + k];
          if (score > best) { best = score; predicted = k; }
        }
      }
      pixels[y * width + x] = words[predicted] ?? 0xffffffff;
    }
  }
  context.putImageData(image, 0, 0);
  const toX = (x) => ((x - xMin) / (xMax - xMin)) * canvas.width;
  const toY = (y) => ((yMax - y) / (yMax - yMin)) * canvas.height;
  context.lineWidth = 1;
  context.strokeStyle = '#1e1e1e';
  data.labels.forEach((label, index) => {
    context.beginPath();
    context.arc(toX(data.points[2 * index]), toY(data.points[2 * index + 1]), 4, 0, 2 * Math.PI);
    context.fillStyle = data.point_colours[label];
    context.fill();
    context.stroke();
  });
  context.fillStyle = '#333';
  context.font = '11px sans-serif';
  context.fillText(`x1 ${xMin.toFixed(1)} to ${xMax.toFixed(1)}, x2 ${yMin.toFixed(1)} to ${yMax.toFixed(1)}`, 6, canvas.height - 6);
}

// A curve of (passes, value) points, both axes logarithmic (passes + 1 across, so that pass 0
// has a place): the first passes' descent and the long tail both get room. `edge` adds a dashed
// line (2/η).
function drawCurve(canvas, points, options) {
  const context = canvas.getContext('2d');
  const [width, height] = [canvas.width, canvas.height];
  const margin = { left: 52, right: 12, top: 10, bottom: 24 };
  context.clearRect(0, 0, width, height);
  const values = points.map((p) => p[1]).concat(options.edge ? [options.edge] : []).filter((v) => v > 0 && Number.isFinite(v));
  if (points.length === 0 || values.length === 0) return;
  let low = Math.log10(Math.min(...values) * 0.9);
  let high = Math.log10(Math.max(...values) * 1.1);
  if (high - low < 0.3) { low -= 0.15; high += 0.15; }
  const lastPass = Math.max(1, points[points.length - 1][0]);
  const span = Math.log10(lastPass + 1);
  const toX = (passes) => margin.left + (Math.log10(passes + 1) / span) * (width - margin.left - margin.right);
  const toY = (value) => margin.top + ((high - Math.log10(value)) / (high - low)) * (height - margin.top - margin.bottom);
  context.strokeStyle = '#999';
  context.fillStyle = '#444';
  context.font = '11px sans-serif';
  context.lineWidth = 1;
  context.strokeRect(margin.left, margin.top, width - margin.left - margin.right, height - margin.top - margin.bottom);
  // Ticks at 1, 2 and 5 times each power of ten, or at the powers alone over many decades.
  const multiples = high - low > 3 ? [1] : [1, 2, 5];
  for (let decade = Math.floor(low); decade <= Math.ceil(high); decade++) {
    for (const multiple of multiples) {
      const value = multiple * 10 ** decade;
      if (Math.log10(value) < low || Math.log10(value) > high) continue;
      const y = toY(value);
      context.fillText(decade >= -4 && decade <= 5 ? String(Number(value.toPrecision(1))) : value.toExponential(0), 4, y + 4);
      context.beginPath();
      context.moveTo(margin.left, y);
      context.lineTo(width - margin.right, y);
      context.strokeStyle = '#eee';
      context.stroke();
    }
  }
  // Pass counts at 0 and each power of ten, and the last.
  context.fillStyle = '#444';
  const passTicks = [0];
  for (let power = 1; power <= lastPass; power *= 10) passTicks.push(power);
  const lastLabel = `${lastPass} passes`;
  const lastLabelX = width - margin.right - context.measureText(lastLabel).width;
  for (const passes of passTicks) {
    const x = toX(passes);
    const label = String(passes);
    const labelWidth = context.measureText(label).width;
    if (x + labelWidth / 2 + 8 > lastLabelX) continue; // the last count's place
    context.fillText(label, x - labelWidth / 2, height - 8);
    context.beginPath();
    context.moveTo(x, margin.top);
    context.lineTo(x, height - margin.bottom);
    context.strokeStyle = '#eee';
    context.stroke();
  }
  context.fillText(lastLabel, lastLabelX, height - 8);
  if (options.edge) {
    context.setLineDash([6, 4]);
    context.strokeStyle = '#d53e4f';
    context.beginPath();
    context.moveTo(margin.left, toY(options.edge));
    context.lineTo(width - margin.right, toY(options.edge));
    context.stroke();
    context.setLineDash([]);
    context.fillStyle = '#d53e4f';
    context.fillText(`2/η = ${options.edge}`, width - margin.right - 90, toY(options.edge) - 4);
  }
  context.strokeStyle = context.fillStyle = '#3288bd';
  context.lineWidth = 1.5;
  const drawable = points.filter((p) => p[1] > 0 && Number.isFinite(p[1]));
  if (options.dots) {
    drawable.forEach(([passes, value]) => context.fillRect(toX(passes) - 1.5, toY(value) - 1.5, 3, 3));
  } else {
    context.beginPath();
    drawable.forEach(([passes, value], index) => (index === 0 ? context.moveTo : context.lineTo).call(context, toX(passes), toY(value)));
    context.stroke();
  }
}

function draw(frame) {
  // The form follows the run: an upload switches it to the CSV, a refused value is put back.
  if (JSON.stringify(frame.settings) !== shownSettings) fillForm(frame.settings);
  drawRegions(frame);
  $('passes').textContent = frame.passes;
  $('rate').textContent = Math.round(frame.passes_per_second);
  $('loss-value').textContent = Number.isFinite(frame.loss) ? frame.loss.toFixed(6) : String(frame.loss);
  $('accuracy').textContent = `${(100 * frame.accuracy).toFixed(1)}%`;
  $('play').textContent = frame.playing ? 'Pause' : 'Play';
  drawCurve($('loss-curve'), frame.loss_curve, {});
  $('printed').textContent = frame.printed.map(([pass, loss]) => `Loss after iteration ${pass}: ${loss.toFixed(6)}`).join('\n');
  const sharpness = frame.sharpness;
  $('sharpness-curve').hidden = !sharpness;
  let said = '';
  if (sharpness && sharpness.curve.length > 0) {
    drawCurve($('sharpness-curve'), sharpness.curve, { edge: sharpness.edge, dots: true });
    const [pass, top] = sharpness.curve[sharpness.curve.length - 1];
    const settled = sharpness.converged ? '' : ' (the iteration had not settled)';
    said = `sharpness ${top.toFixed(3)} at pass ${pass}${settled}; 2/η = ${sharpness.edge}`;
  }
  if (sharpness && sharpness.measuring) {
    // A large network's measurement spans frames: say what the run is waiting for.
    const { products, estimate } = sharpness.measuring;
    said += `${said ? '; ' : ''}measuring: ${products} Hessian-vector products so far, estimate ${estimate.toFixed(3)}`;
  }
  $('sharpness-value').textContent = said;
  if (frame.diverged) showMessage(frame.diverged, 'error');
}

// ---- the stream -----------------------------------------------------------------------------

const events = new EventSource('/api/events');
events.addEventListener('hello', (event) => {
  const hello = JSON.parse(event.data);
  runId = hello.run;
  limits = hello.limits;
  aliveEvery = Math.min(1000, hello.silence_timeout_ms / 5);
  $('samples').min = 2;
  $('samples').max = limits.max_samples;
  $('noise').min = 0;
  $('noise').max = limits.max_noise;
  for (const id of ['hidden1', 'hidden2']) { $(id).min = 1; $(id).max = limits.max_hidden; }
  $('csv-limit').textContent = `at most ${limits.max_csv_bytes >> 10} KiB and ${limits.max_samples} rows`;
  fillForm(hello.settings);
  $('sharpness').checked = false;
  if (selfTest) runSelfTest();
});
events.addEventListener('full', (event) => {
  events.close(); // no retry: the server said why
  showMessage(JSON.parse(event.data).message, 'error');
});
events.addEventListener('data', (event) => { data = JSON.parse(event.data); });
events.addEventListener('frame', (event) => {
  latest = JSON.parse(event.data);
  draw(latest);
  keepAlive();
});
events.addEventListener('tape', (event) => {
  const tape = JSON.parse(event.data);
  $('tape-title').textContent = `The tape of one pass at pass ${tape.passes}: every node, its op, shape, the line that recorded it, its values and its gradient's norm`;
  $('tape').textContent = tape.text;
  $('tape-title').hidden = $('tape').hidden = false;
});
events.addEventListener('gradients', (event) => {
  const report = JSON.parse(event.data);
  const verdict = report.agree ? 'they agree' : 'they DISAGREE';
  $('gradients-title').textContent = `The tape's gradients of the summed objective against the tutorial's hand-derived ones, at pass ${report.passes}: ${verdict}`;
  $('gradients-title').className = report.agree ? 'agree' : 'disagree';
  $('gradients').textContent = report.text;
  $('gradients-title').hidden = $('gradients').hidden = false;
});
events.onerror = () => {
  if (events.readyState === EventSource.CONNECTING) showMessage('The connection to the server was lost; reconnecting starts a new run.', 'info');
};

// ---- controls -------------------------------------------------------------------------------

$('play').addEventListener('click', () => send({ action: latest && latest.playing ? 'pause' : 'play' }));
$('step').addEventListener('click', () => send({ action: 'step' }));
$('reset').addEventListener('click', () => send({ action: 'reset' }));
for (const id of ['dataset', 'samples', 'noise', 'seed', 'layers', 'hidden1', 'hidden2', 'activation', 'learning_rate', 'l2', 'loss']) {
  $(id).addEventListener('change', applyForm);
}
$('sharpness').addEventListener('change', () => send({ action: 'sharpness', on: $('sharpness').checked }));
$('show-tape').addEventListener('click', () => send({ action: 'tape' }));
$('show-gradients').addEventListener('click', () => send({ action: 'gradients' }));
$('csv').addEventListener('change', async () => {
  const file = $('csv').files[0];
  if (!file || runId === null) return;
  if (limits && file.size > limits.max_csv_bytes) {
    showMessage(`CSV file: ${file.size} bytes, more than the ${limits.max_csv_bytes} the playground reads`, 'error');
    return;
  }
  if (await post(`/api/runs/${runId}/csv`, file, { 'Content-Type': 'text/csv' })) {
    showMessage(`${file.name}: loaded; the run starts again on its points`, 'info');
  }
  $('csv').value = '';
});

// ---- self-test (?self-test): what the browser test checks --------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Distinct colours among a sample of the canvas's pixels: 1 for a blank canvas.
function distinctColours(canvas) {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < pixels.length; i += 4 * 7) seen.add(`${pixels[i]},${pixels[i + 1]},${pixels[i + 2]}`);
  return seen.size;
}

async function runSelfTest() {
  const report = { steps: [] };
  const wait = async (what, done, ms) => {
    for (const start = Date.now(); Date.now() - start < ms; await sleep(50)) if (done()) return true;
    report.steps.push(`timed out waiting for ${what}`);
    return false;
  };
  await wait('the first frame', () => latest !== null, 10000);
  const firstPasses = latest ? latest.passes : -1;
  // A bad value typed in: the server's message shows, and the field gets the run's value back.
  $('learning_rate').value = '-1';
  $('learning_rate').dispatchEvent(new Event('change'));
  await wait('the refusal', () => !$('message').hidden, 10000);
  report.refusal = $('message').textContent;
  report.refused_field_shows = $('learning_rate').value;
  await send({ action: 'sharpness', on: true });
  $('sharpness').checked = true;
  await send({ action: 'play' });
  await wait('2000 passes', () => latest && latest.passes >= 2000, 30000);
  await send({ action: 'tape' });
  await send({ action: 'gradients' });
  await wait('the tape and the gradients', () => !$('tape').hidden && !$('gradients').hidden, 10000);
  await sleep(300); // a few more frames
  Object.assign(report, {
    first_passes: firstPasses,
    passes: latest ? latest.passes : -1,
    region_colours: distinctColours($('regions')),
    loss_curve_points: latest ? latest.loss_curve.length : 0,
    printed_lines: $('printed').textContent.split('\n').filter((line) => line).length,
    tape_lines: $('tape').textContent.split('\n').filter((line) => line).length,
    gradients_agree: $('gradients-title').className === 'agree',
    message_shown: !$('message').hidden,
    form_matches_run: latest !== null && Object.entries(latest.settings)
      .every(([field, value]) => JSON.stringify(formSettings()[field]) === JSON.stringify(value)),
    errors: pageErrors,
  });
  $('self-test-report').textContent = `self-test report: ${JSON.stringify(report, null, 1)}`;
  $('self-test-report').hidden = false;
  await post('/api/self-test', JSON.stringify(report), { 'Content-Type': 'application/json' });
}
