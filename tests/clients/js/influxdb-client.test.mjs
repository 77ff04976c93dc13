// Tessera driven through InfluxData's official JavaScript client
// (@influxdata/influxdb-client + @influxdata/influxdb-client-apis 1.x).
//
// Every test talks to a real `tessera` binary (env TESSERA_BIN, default
// target/debug/tessera) started on 127.0.0.1:0 with a fresh data directory.
// Run with `node --test` from this directory.

import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {HttpError, InfluxDB} from '@influxdata/influxdb-client'
import {
  AuthorizationsAPI,
  DashboardsAPI,
  HealthAPI,
  LabelsAPI,
  MeAPI,
  OrgsAPI,
  PingAPI,
  ReadyAPI,
  SetupAPI,
  SigninAPI,
  SignoutAPI,
  StacksAPI,
  TemplatesAPI,
  UsersAPI,
  VariablesAPI,
} from '@influxdata/influxdb-client-apis'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const ADMIN = 'admin'
const ADMIN_PASSWORD = 'correct horse battery'
const SETUP_ORG = 'onboarded'
const SETUP_BUCKET = 'default'
const ID_RE = /^[0-9a-f]{16}$/
const MISSING_ID = '0a0a0a0a0a0a0a0a'

// ---- the server ------------------------------------------------------------

function tesseraBinary() {
  const p = process.env.TESSERA_BIN || 'target/debug/tessera'
  if (path.isAbsolute(p)) return p
  const here = path.resolve(process.cwd(), p)
  return existsSync(here) ? here : path.resolve(REPO, p)
}

/** Starts `tessera` on a free port with a fresh data directory. */
async function startTessera() {
  const bin = tesseraBinary()
  if (!existsSync(bin)) {
    throw new Error(`tessera binary not found at ${bin}; run cargo build or set TESSERA_BIN`)
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-js-'))
  const child = spawn(bin, ['--http-bind-address', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', process.env.TESSERA_TEST_LOG ? 'inherit' : 'ignore'],
    env: {...process.env, TESSERA_LOG_LEVEL: 'warn'},
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
    rmSync(dataDir, {recursive: true, force: true})
  }
  const prefix = 'tessera listening on '
  try {
    const url = await new Promise((resolve, reject) => {
      let buf = ''
      const timer = setTimeout(() => reject(new Error('tessera did not print its address in 30 s')), 30_000)
      // Keeps draining stdout after the first line, so the pipe never fills.
      child.stdout.on('data', (chunk) => {
        if (buf === null) return
        buf += chunk
        const nl = buf.indexOf('\n')
        if (nl < 0) return
        clearTimeout(timer)
        const line = buf.slice(0, nl)
        buf = null
        if (line.startsWith(prefix)) resolve(line.slice(prefix.length).trim())
        else reject(new Error(`unexpected first line from tessera: ${JSON.stringify(line)}`))
      })
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(new Error(`tessera exited early (${code ?? signal})`)))
    })
    return {url, stop}
  } catch (e) {
    await stop()
    throw e
  }
}

// ---- helpers ----------------------------------------------------------------

/** Awaits `promise`, which must reject with the client's HttpError carrying the Influx envelope. */
async function expectHttpError(promise, statusCode, code, messagePrefix = '') {
  let error
  try {
    await promise
  } catch (e) {
    error = e
  }
  assert.ok(error instanceof HttpError, `expected an HttpError, got ${error}`)
  assert.equal(error.statusCode, statusCode, `body: ${error.body}`)
  assert.match(error.contentType ?? '', /^application\/json/)
  assert.equal(error.code, code, `body: ${error.body}`)
  assert.ok(error.message.startsWith(messagePrefix), `message ${JSON.stringify(error.message)}`)
  assert.deepEqual(Object.keys(error.json).filter((k) => k === 'code' || k === 'message').sort(), ['code', 'message'])
  assert.equal(error.headers['x-platform-error-code'], code)
  return error
}

let counter = 0
const unique = (prefix) => `${prefix}-${process.pid}-${++counter}`

const XY_PROPERTIES = {
  shape: 'chronograf-v2',
  type: 'xy',
  queries: [
    {
      text: 'from(bucket: "default") |> range(start: v.timeRangeStart) |> filter(fn: (r) => r._measurement == "mem")',
      editMode: 'advanced',
      name: '',
      builderConfig: {buckets: [], tags: [], functions: [], aggregateWindow: {period: 'auto', fillValues: false}},
    },
  ],
  colors: [{id: 'base', type: 'scale', hex: '#31C0F6', name: 'Nineteen Eighty Four', value: 0}],
  axes: {
    x: {bounds: ['', ''], label: '', prefix: '', suffix: '', base: '10', scale: 'linear'},
    y: {bounds: ['', ''], label: '', prefix: '', suffix: '', base: '10', scale: 'linear'},
  },
  geom: 'line',
  position: 'overlaid',
  note: '',
  showNoteWhenEmpty: false,
  xColumn: '_time',
  yColumn: '_value',
  hoverDimension: 'auto',
  legendColorizeRows: true,
  legendOpacity: 1,
  legendOrientationThreshold: 100000000,
}

const SINGLE_STAT_PROPERTIES = {
  shape: 'chronograf-v2',
  type: 'single-stat',
  queries: [
    {
      text: 'from(bucket: "default") |> range(start: -1m) |> last()',
      editMode: 'advanced',
      name: '',
      builderConfig: {buckets: [], tags: [], functions: [], aggregateWindow: {period: 'auto', fillValues: false}},
    },
  ],
  colors: [{id: 'base', type: 'text', hex: '#00C9FF', name: 'laser', value: 0}],
  prefix: '',
  tickPrefix: '',
  suffix: ' %',
  tickSuffix: '',
  note: '',
  showNoteWhenEmpty: false,
  decimalPlaces: {isEnforced: true, digits: 2},
}

// ---- the suite -----------------------------------------------------------

let server
let onboarding
let influx
let token, orgID, userID

before(async () => {
  server = await startTessera()
  const anonymous = new InfluxDB({url: server.url, timeout: 10_000})
  const setup = new SetupAPI(anonymous)
  assert.equal((await setup.getSetup()).allowed, true)
  onboarding = await setup.postSetup({
    body: {
      username: ADMIN,
      password: ADMIN_PASSWORD,
      org: SETUP_ORG,
      bucket: SETUP_BUCKET,
      retentionPeriodSeconds: 0,
    },
  })
  token = onboarding.auth.token
  orgID = onboarding.org.id
  userID = onboarding.user.id
  influx = new InfluxDB({url: server.url, token, timeout: 10_000})
})

after(async () => {
  await server?.stop()
})

const newDashboard = (name = unique('dash'), org = orgID, description = '') =>
  new DashboardsAPI(influx).postDashboards({body: {orgID: org, name, description}})

describe('service endpoints and setup', () => {
  test('ping, health and ready', async () => {
    const anonymous = new InfluxDB({url: server.url})
    let pingStatus, pingHeaders
    const res = await new PingAPI(anonymous).getPing(
      {},
      {
        responseStarted(headers, statusCode) {
          pingHeaders = headers
          pingStatus = statusCode
        },
      },
    )
    assert.equal(res, undefined)
    assert.equal(pingStatus, 204)
    assert.ok(pingHeaders['x-influxdb-version'])
    assert.equal(pingHeaders['x-influxdb-build'], 'OSS')

    const health = await new HealthAPI(anonymous).getHealth()
    assert.equal(health.name, 'influxdb')
    assert.equal(health.status, 'pass')
    assert.ok(health.message)

    const ready = await new ReadyAPI(anonymous).getReady()
    assert.equal(ready.status, 'ready')
    assert.ok(!Number.isNaN(Date.parse(ready.started)))
    assert.ok(ready.up)
  })

  test('onboarding through SetupAPI', async () => {
    assert.equal(onboarding.user.name, ADMIN)
    assert.match(onboarding.user.id, ID_RE)
    assert.equal(onboarding.org.name, SETUP_ORG)
    assert.equal(onboarding.bucket.name, SETUP_BUCKET)
    assert.equal(onboarding.bucket.orgID, orgID)
    assert.equal(onboarding.bucket.retentionRules[0].everySeconds, 0)
    assert.ok(token)
    assert.equal(onboarding.auth.orgID, orgID)
    assert.equal(onboarding.auth.userID, userID)

    const setup = new SetupAPI(new InfluxDB({url: server.url}))
    assert.equal((await setup.getSetup()).allowed, false)
    await expectHttpError(
      setup.postSetup({body: {username: 'x', password: 'yyyyyyyy', org: 'o', bucket: 'b'}}),
      422,
      'conflict',
      'onboarding has already been completed',
    )
  })
})

describe('DashboardsAPI', () => {
  test('create, get, patch, delete a dashboard', async () => {
    const api = new DashboardsAPI(influx)
    const d = await newDashboard('JS dashboard', orgID, 'made by influxdb-client-apis')
    assert.match(d.id, ID_RE)
    assert.equal(d.orgID, orgID)
    assert.equal(d.name, 'JS dashboard')
    assert.equal(d.description, 'made by influxdb-client-apis')
    assert.deepEqual(d.cells, [])
    assert.deepEqual(d.labels, [])
    assert.ok(d.meta.createdAt && d.meta.updatedAt)
    const base = `/api/v2/dashboards/${d.id}`
    assert.deepEqual(d.links, {
      self: base,
      cells: `${base}/cells`,
      members: `${base}/members`,
      owners: `${base}/owners`,
      labels: `${base}/labels`,
      org: `/api/v2/orgs/${orgID}`,
    })

    const got = await api.getDashboardsID({dashboardID: d.id})
    assert.deepEqual(
      [got.id, got.orgID, got.name, got.description],
      [d.id, d.orgID, d.name, d.description],
    )

    const patched = await api.patchDashboardsID({dashboardID: d.id, body: {name: 'Renamed', description: 'new words'}})
    assert.deepEqual([patched.id, patched.name, patched.description], [d.id, 'Renamed', 'new words'])
    assert.equal(patched.meta.createdAt, d.meta.createdAt)
    await expectHttpError(
      api.patchDashboardsID({dashboardID: d.id, body: {}}),
      400,
      'invalid',
      'must update at least one attribute',
    )

    assert.equal(await api.deleteDashboardsID({dashboardID: d.id}), undefined)
    await expectHttpError(api.getDashboardsID({dashboardID: d.id}), 404, 'not found', 'dashboard not found')
    await expectHttpError(api.deleteDashboardsID({dashboardID: d.id}), 404, 'not found', 'dashboard not found')
  })

  test('errors surface as HttpError with the Influx code and message', async () => {
    const api = new DashboardsAPI(influx)
    const e = await expectHttpError(
      api.getDashboardsID({dashboardID: MISSING_ID}),
      404,
      'not found',
      'dashboard not found',
    )
    assert.equal(e.json.message, 'dashboard not found')
    await expectHttpError(api.getDashboardsID({dashboardID: 'abc'}), 400, 'invalid', 'id must have a length of 16 bytes')
    await expectHttpError(api.getDashboardsID({dashboardID: 'zzzzzzzzzzzzzzzz'}), 400, 'invalid', 'invalid ID')
    await expectHttpError(api.postDashboards({body: {name: 'no org'}}), 400, 'invalid')
    const stranger = new DashboardsAPI(new InfluxDB({url: server.url, token: 'not-a-token'}))
    await expectHttpError(stranger.getDashboards(), 401, 'unauthorized', 'unauthorized access')
    const anonymous = new DashboardsAPI(new InfluxDB({url: server.url}))
    await expectHttpError(anonymous.getDashboards(), 401, 'unauthorized')
  })

  test('getDashboards filters and paging', async () => {
    const api = new DashboardsAPI(influx)
    const org = await new OrgsAPI(influx).postOrgs({body: {name: unique('listing-org')}})
    const made = []
    for (let i = 0; i < 3; i++) made.push(await newDashboard(`list-${i}`, org.id))
    const ids = made.map((d) => d.id)
    const idsOf = (r) => r.dashboards.map((d) => d.id)

    const byOrg = await api.getDashboards({orgID: org.id})
    assert.deepEqual(idsOf(byOrg), ids)
    assert.ok(byOrg.links.self.startsWith('/api/v2/dashboards'))
    assert.ok(byOrg.dashboards.every((d) => d.orgID === org.id))
    // With an org filter InfluxDB returns the whole org, whatever limit says.
    assert.deepEqual(idsOf(await api.getDashboards({orgID: org.id, limit: 1})), ids)
    assert.deepEqual(idsOf(await api.getDashboards({org: org.name})), ids)
    assert.deepEqual(idsOf(await api.getDashboards({orgID: org.id, descending: true})), [...ids].reverse())
    assert.deepEqual(idsOf(await api.getDashboards({orgID: org.id, sortBy: 'CreatedAt'})), ids)
    assert.deepEqual(
      idsOf(await api.getDashboards({orgID: org.id, sortBy: 'UpdatedAt', descending: true})),
      [...ids].reverse(),
    )

    // Several ids: the client sends them comma-joined (id=a%2Cb).
    assert.deepEqual(idsOf(await api.getDashboards({id: [ids[0], ids[2]]})), [ids[0], ids[2]])
    assert.deepEqual(idsOf(await api.getDashboards({id: ids[1]})), [ids[1]])
    assert.deepEqual(idsOf(await api.getDashboards({id: [ids[1]], orgID})), [ids[1]])

    // Paging over every dashboard (no org filter).
    const everything = idsOf(await api.getDashboards({limit: 100}))
    assert.deepEqual(everything, [...everything].sort())
    const page = await api.getDashboards({limit: 2, offset: 1})
    assert.deepEqual(idsOf(page), everything.slice(1, 3))
    assert.ok(page.links.prev)
    assert.ok(page.links.next)
    const whole = await api.getDashboards({limit: 100})
    assert.equal(whole.links.prev, undefined)
    assert.equal(whole.links.next, undefined)
    assert.deepEqual(idsOf(await api.getDashboards({limit: 2, descending: true})), [...everything].reverse().slice(0, 2))

    await expectHttpError(api.getDashboards({limit: 101}), 400, 'invalid', 'limit must be between 1 and 100')
    await expectHttpError(api.getDashboards({offset: -1}), 400, 'invalid', 'offset is invalid')
    await expectHttpError(api.getDashboards({descending: 'maybe'}), 400, 'invalid', 'descending is invalid')
    await expectHttpError(api.getDashboards({org: 'no such org'}), 404, 'not found')
  })

  test('getDashboards by owner', async () => {
    const api = new DashboardsAPI(influx)
    const users = new UsersAPI(influx)
    const alice = await users.postUsers({body: {name: unique('owner-alice')}})
    const d1 = await newDashboard()
    const d2 = await newDashboard()
    await newDashboard()
    assert.deepEqual((await api.getDashboards({owner: alice.id})).dashboards, [])
    await api.postDashboardsIDOwners({dashboardID: d1.id, body: {id: alice.id}})
    await api.postDashboardsIDOwners({dashboardID: d2.id, body: {id: alice.id}})
    const owned = await api.getDashboards({owner: alice.id})
    assert.deepEqual(
      owned.dashboards.map((d) => d.id),
      [d1.id, d2.id],
    )
  })

  test('cells and views', async () => {
    const api = new DashboardsAPI(influx)
    const d = await newDashboard('with cells')
    const dashboardID = d.id

    const c1 = await api.postDashboardsIDCells({dashboardID, body: {name: 'Memory', x: 0, y: 0, w: 4, h: 4}})
    assert.match(c1.id, ID_RE)
    assert.deepEqual([c1.x, c1.y, c1.w, c1.h], [0, 0, 4, 4])
    assert.equal(c1.links.self, `/api/v2/dashboards/${dashboardID}/cells/${c1.id}`)
    assert.equal(c1.links.view, `/api/v2/dashboards/${dashboardID}/cells/${c1.id}/view`)

    const v1 = await api.getDashboardsIDCellsIDView({dashboardID, cellID: c1.id})
    assert.equal(v1.id, c1.id)
    assert.equal(v1.name, 'Memory')
    assert.equal(v1.links.self, `/api/v2/dashboards/${dashboardID}/cells/${c1.id}`)

    const pv = await api.patchDashboardsIDCellsIDView({
      dashboardID,
      cellID: c1.id,
      body: {name: 'Memory used', properties: XY_PROPERTIES},
    })
    assert.equal(pv.name, 'Memory used')
    assert.deepEqual(pv.properties, XY_PROPERTIES)
    const again = await api.getDashboardsIDCellsIDView({dashboardID, cellID: c1.id})
    assert.deepEqual(again.properties, XY_PROPERTIES)
    const renamed = await api.patchDashboardsIDCellsIDView({dashboardID, cellID: c1.id, body: {name: 'Memory %'}})
    assert.equal(renamed.name, 'Memory %')
    assert.deepEqual(renamed.properties, XY_PROPERTIES)

    const c2 = await api.postDashboardsIDCells({dashboardID, body: {x: 4, y: 0, w: 4, h: 4, usingView: c1.id}})
    assert.notEqual(c2.id, c1.id)
    const copied = await api.getDashboardsIDCellsIDView({dashboardID, cellID: c2.id})
    assert.equal(copied.id, c2.id)
    assert.equal(copied.name, 'Memory %')
    assert.deepEqual(copied.properties, XY_PROPERTIES)

    const c3 = await api.postDashboardsIDCells({dashboardID, body: {name: 'Load', x: 0, y: 4, w: 8, h: 2}})
    await api.patchDashboardsIDCellsIDView({
      dashboardID,
      cellID: c3.id,
      body: {name: 'Load', properties: SINGLE_STAT_PROPERTIES},
    })

    const moved = await api.patchDashboardsIDCellsID({dashboardID, cellID: c1.id, body: {x: 1, y: 2, w: 3, h: 5}})
    assert.deepEqual([moved.id, moved.x, moved.y, moved.w, moved.h], [c1.id, 1, 2, 3, 5])
    const partly = await api.patchDashboardsIDCellsID({dashboardID, cellID: c1.id, body: {w: 6}})
    assert.deepEqual([partly.x, partly.y, partly.w, partly.h], [1, 2, 6, 5])

    const plain = await api.getDashboardsID({dashboardID})
    assert.deepEqual(
      plain.cells.map((c) => c.id),
      [c1.id, c2.id, c3.id],
    )
    assert.ok(plain.cells.every((c) => c.properties === undefined))
    const full = await api.getDashboardsID({dashboardID, include: 'properties'})
    const cells = Object.fromEntries(full.cells.map((c) => [c.id, c]))
    assert.equal(cells[c1.id].name, 'Memory %')
    assert.deepEqual(cells[c1.id].properties, XY_PROPERTIES)
    assert.deepEqual(cells[c3.id].properties, SINGLE_STAT_PROPERTIES)
    assert.deepEqual([cells[c1.id].x, cells[c1.id].w], [1, 6])

    // PUT cells answers {cells, links} (typed as Dashboard by the client).
    const replaced = await api.putDashboardsIDCells({
      dashboardID,
      body: [
        {id: c1.id, x: 0, y: 0, w: 6, h: 3},
        {id: c3.id, x: 6, y: 0, w: 6, h: 3},
      ],
    })
    assert.deepEqual(
      replaced.cells.map((c) => [c.id, c.x, c.y, c.w, c.h]),
      [
        [c1.id, 0, 0, 6, 3],
        [c3.id, 6, 0, 6, 3],
      ],
    )
    assert.equal(replaced.links.self, `/api/v2/dashboards/${dashboardID}/cells`)
    assert.deepEqual(
      (await api.getDashboardsID({dashboardID})).cells.map((c) => c.id),
      [c1.id, c3.id],
    )
    await expectHttpError(api.getDashboardsIDCellsIDView({dashboardID, cellID: c2.id}), 404, 'not found')
    await expectHttpError(
      api.putDashboardsIDCells({dashboardID, body: [{id: MISSING_ID, x: 0, y: 0, w: 1, h: 1}]}),
      422,
      'conflict',
      'cannot replace cells that were not already present',
    )
    await expectHttpError(
      api.putDashboardsIDCells({dashboardID, body: [{x: 0, y: 0, w: 1, h: 1}]}),
      400,
      'invalid',
      'cannot provide empty cell id',
    )

    assert.equal(await api.deleteDashboardsIDCellsID({dashboardID, cellID: c3.id}), undefined)
    await expectHttpError(api.getDashboardsIDCellsIDView({dashboardID, cellID: c3.id}), 404, 'not found')
    await expectHttpError(api.deleteDashboardsIDCellsID({dashboardID, cellID: c3.id}), 404, 'not found', 'cell not found')
    await expectHttpError(
      api.patchDashboardsIDCellsID({dashboardID, cellID: c3.id, body: {x: 1}}),
      404,
      'not found',
      'cell not found',
    )
    await expectHttpError(api.postDashboardsIDCells({dashboardID, body: {}}), 400, 'invalid', 'req body is empty')
    await expectHttpError(
      api.postDashboardsIDCells({dashboardID: MISSING_ID, body: {name: 'x', x: 0, y: 0, w: 1, h: 1}}),
      404,
      'not found',
      'dashboard not found',
    )
    assert.deepEqual(
      (await api.getDashboardsID({dashboardID})).cells.map((c) => c.id),
      [c1.id],
    )
  })

  test('members and owners', async () => {
    const api = new DashboardsAPI(influx)
    const users = new UsersAPI(influx)
    const d = await newDashboard()
    const dashboardID = d.id
    const alice = await users.postUsers({body: {name: unique('alice')}})
    const bob = await users.postUsers({body: {name: unique('bob')}})

    const m = await api.postDashboardsIDMembers({dashboardID, body: {id: alice.id}})
    assert.deepEqual([m.id, m.name, m.role, m.status], [alice.id, alice.name, 'member', 'active'])
    assert.equal(m.links.self, `/api/v2/users/${alice.id}`)
    const members = await api.getDashboardsIDMembers({dashboardID})
    assert.deepEqual(
      members.users.map((u) => [u.id, u.role]),
      [[alice.id, 'member']],
    )
    assert.equal(members.links.self, `/api/v2/dashboards/${dashboardID}/members`)

    const o = await api.postDashboardsIDOwners({dashboardID, body: {id: bob.id}})
    assert.deepEqual([o.id, o.name, o.role], [bob.id, bob.name, 'owner'])
    const owners = await api.getDashboardsIDOwners({dashboardID})
    assert.ok(owners.users.some((u) => u.id === bob.id))
    assert.ok(owners.users.every((u) => u.role === 'owner'))
    assert.ok(!owners.users.some((u) => u.id === alice.id))

    assert.equal(await api.deleteDashboardsIDMembersID({dashboardID, userID: alice.id}), undefined)
    assert.ok(!(await api.getDashboardsIDMembers({dashboardID})).users.some((u) => u.id === alice.id))
    assert.equal(await api.deleteDashboardsIDMembersID({dashboardID, userID: alice.id}), undefined)
    assert.equal(await api.deleteDashboardsIDOwnersID({dashboardID, userID: bob.id}), undefined)
    assert.ok(!(await api.getDashboardsIDOwners({dashboardID})).users.some((u) => u.id === bob.id))

    await expectHttpError(
      api.postDashboardsIDMembers({dashboardID, body: {}}),
      400,
      'invalid',
      'user id missing or invalid',
    )
    await expectHttpError(api.getDashboardsIDOwners({dashboardID: MISSING_ID}), 404, 'not found', 'dashboard not found')
  })

  test('labels', async (t) => {
    // Skipped while GET /api/v2/labels answers 404 (labels not implemented yet).
    let probe
    try {
      probe = await new LabelsAPI(influx).getLabels({orgID})
    } catch (e) {
      if (e instanceof HttpError && e.statusCode === 404) {
        t.skip('GET /api/v2/labels answers 404: labels are not implemented yet')
        return
      }
      throw e
    }
    assert.ok(Array.isArray(probe.labels))

    const api = new DashboardsAPI(influx)
    const labels = new LabelsAPI(influx)
    const d = await newDashboard()
    const dashboardID = d.id
    const created = await labels.postLabels({
      body: {orgID, name: unique('label'), properties: {color: '#326BBA', description: 'js'}},
    })
    const label = created.label
    assert.match(label.id, ID_RE)
    assert.equal(label.orgID, orgID)
    assert.equal((await labels.getLabelsID({labelID: label.id})).label.name, label.name)

    const mapped = await api.postDashboardsIDLabels({dashboardID, body: {labelID: label.id}})
    assert.equal(mapped.label.id, label.id)
    assert.equal(mapped.label.properties.color, '#326BBA')
    const listed = await api.getDashboardsIDLabels({dashboardID})
    assert.deepEqual(
      listed.labels.map((l) => l.id),
      [label.id],
    )
    assert.deepEqual(
      (await api.getDashboardsID({dashboardID})).labels.map((l) => l.id),
      [label.id],
    )
    await expectHttpError(
      api.postDashboardsIDLabels({dashboardID, body: {labelID: label.id}}),
      422,
      'conflict',
      'Cannot add label, label already exists on resource',
    )
    await expectHttpError(api.postDashboardsIDLabels({dashboardID, body: {}}), 400, 'invalid', 'label id is required')

    assert.equal(await api.deleteDashboardsIDLabelsID({dashboardID, labelID: label.id}), undefined)
    assert.deepEqual((await api.getDashboardsIDLabels({dashboardID})).labels, [])
    assert.deepEqual((await api.getDashboardsID({dashboardID})).labels, [])
  })
})

describe('VariablesAPI', () => {
  test('create, list, get, patch, put, labels and delete variables', async () => {
    const api = new VariablesAPI(influx)
    const name = `host_${process.pid}`
    const created = await api.postVariables({
      body: {orgID, name, arguments: {type: 'constant', values: ['a', 'b']}, selected: ['a']},
    })
    assert.match(created.id, ID_RE)
    assert.equal(created.orgID, orgID)
    assert.deepEqual(created.arguments, {type: 'constant', values: ['a', 'b']})
    assert.deepEqual(created.labels, [])
    assert.equal(created.links.self, `/api/v2/variables/${created.id}`)
    const variableID = created.id

    const query = await api.postVariables({
      body: {orgID, name: `bucket_${process.pid}`, arguments: {type: 'query', values: {query: 'buckets()', language: 'flux'}}},
    })
    const listed = await api.getVariables({orgID})
    assert.deepEqual(
      listed.variables.map((v) => v.id),
      [variableID, query.id],
    )
    assert.equal((await api.getVariablesID({variableID})).name, name)

    const patched = await api.patchVariablesID({variableID, body: {selected: ['b']}})
    assert.deepEqual(patched.selected, ['b'])
    const replaced = await api.putVariablesID({
      variableID,
      body: {orgID, name, arguments: {type: 'map', values: {k: 'v'}}},
    })
    assert.deepEqual(replaced.arguments, {type: 'map', values: {k: 'v'}})
    await expectHttpError(
      api.postVariables({body: {orgID, name: 'import', arguments: {type: 'constant', values: []}}}),
      400,
      'invalid',
      '"import" is a protected variable name',
    )
    await expectHttpError(
      api.postVariables({body: {orgID, name: name.toUpperCase(), arguments: {type: 'constant', values: []}}}),
      422,
      'conflict',
      'variable is not unique',
    )

    const label = (await new LabelsAPI(influx).postLabels({body: {orgID, name: unique('vlabel')}})).label
    const mapped = await api.postVariablesIDLabels({variableID, body: {labelID: label.id}})
    assert.equal(mapped.label.id, label.id)
    assert.deepEqual(
      (await api.getVariablesIDLabels({variableID})).labels.map((l) => l.id),
      [label.id],
    )
    assert.deepEqual(
      (await api.getVariablesID({variableID})).labels.map((l) => l.id),
      [label.id],
    )
    assert.equal(await api.deleteVariablesIDLabelsID({variableID, labelID: label.id}), undefined)

    assert.equal(await api.deleteVariablesID({variableID}), undefined)
    await expectHttpError(api.getVariablesID({variableID}), 404, 'not found', 'variable not found')
    await api.deleteVariablesID({variableID: query.id})
  })
})

describe('TemplatesAPI, StacksAPI', () => {
  test('apply (dry run and real), export, stacks', async () => {
    const templates = new TemplatesAPI(influx)
    const stacks = new StacksAPI(influx)
    const s = `${process.pid}-${Date.now()}`
    const contents = [
      {apiVersion: 'influxdata.com/v2alpha1', kind: 'Label', metadata: {name: `lbl-${s}`}, spec: {name: `team-${s}`}},
      {
        apiVersion: 'influxdata.com/v2alpha1',
        kind: 'Dashboard',
        metadata: {name: `dash-${s}`},
        spec: {
          name: `Templated ${s}`,
          associations: [{kind: 'Label', name: `lbl-${s}`}],
          charts: [{kind: 'Markdown', name: 'note', note: 'hello', width: 4, height: 2}],
        },
      },
    ]
    const dry = await templates.applyTemplate({body: {orgID, dryRun: true, template: {contents}}})
    assert.deepEqual(
      dry.summary.dashboards.map((d) => d.name),
      [`Templated ${s}`],
    )
    const listed = async () =>
      (await new DashboardsAPI(influx).getDashboards({orgID})).dashboards.filter((d) => d.name === `Templated ${s}`)
    assert.equal((await listed()).length, 0)

    const applied = await templates.applyTemplate({body: {orgID, template: {contents}}})
    assert.match(applied.stackID, ID_RE)
    const made = await listed()
    assert.equal(made.length, 1)
    assert.deepEqual(
      made[0].labels.map((l) => l.name),
      [`team-${s}`],
    )
    // Applying again with the stack changes nothing and makes no duplicate.
    await templates.applyTemplate({body: {orgID, stackID: applied.stackID, template: {contents}}})
    assert.equal((await listed()).length, 1)

    const exported = await templates.exportTemplate({body: {resources: [{kind: 'Dashboard', id: made[0].id}]}})
    assert.deepEqual(exported.map((o) => o.kind).sort(), ['Dashboard', 'Label'])

    const all = await stacks.listStacks({orgID})
    assert.ok(all.stacks.some((st) => st.id === applied.stackID))
    const read = await stacks.readStack({stack_id: applied.stackID})
    assert.equal(read.orgID, orgID)
    const renamed = await stacks.updateStack({stack_id: applied.stackID, body: {name: `stack-${s}`}})
    assert.equal(renamed.events.at(-1).name, `stack-${s}`)
    // The client's uninstall sends no orgID, which InfluxDB requires too.
    await expectHttpError(stacks.uninstallStack({stack_id: applied.stackID}), 400, 'invalid', 'the orgID query param is required')
    const created = await stacks.createStack({body: {orgID, name: `empty-${s}`}})
    assert.match(created.id, ID_RE)
    assert.equal(await stacks.deleteStack({stack_id: created.id, orgID}), undefined)
    assert.equal(await stacks.deleteStack({stack_id: applied.stackID, orgID}), undefined)
    await expectHttpError(stacks.readStack({stack_id: applied.stackID}), 404, 'not found', '')
  })
})

describe('OrgsAPI, UsersAPI, AuthorizationsAPI', () => {
  test('OrgsAPI', async () => {
    const api = new OrgsAPI(influx)
    const name = unique('org')
    const org = await api.postOrgs({body: {name, description: 'from js'}})
    assert.match(org.id, ID_RE)
    assert.deepEqual([org.name, org.description], [name, 'from js'])
    assert.equal(org.links.self, `/api/v2/orgs/${org.id}`)

    const all = await api.getOrgs()
    assert.ok(all.orgs.some((o) => o.name === SETUP_ORG))
    assert.deepEqual(
      (await api.getOrgs({org: name})).orgs.map((o) => o.id),
      [org.id],
    )
    assert.deepEqual(
      (await api.getOrgs({orgID: org.id})).orgs.map((o) => o.id),
      [org.id],
    )
    assert.equal((await api.getOrgsID({orgID: org.id})).name, name)
    const patched = await api.patchOrgsID({orgID: org.id, body: {name: `${name}-renamed`, description: 'changed'}})
    assert.deepEqual([patched.id, patched.name, patched.description], [org.id, `${name}-renamed`, 'changed'])

    const carol = await new UsersAPI(influx).postUsers({body: {name: unique('carol')}})
    const member = await api.postOrgsIDMembers({orgID: org.id, body: {id: carol.id}})
    assert.deepEqual([member.id, member.role], [carol.id, 'member'])
    assert.ok((await api.getOrgsIDMembers({orgID: org.id})).users.some((u) => u.id === carol.id))
    const owner = await api.postOrgsIDOwners({orgID: org.id, body: {id: carol.id}})
    assert.equal(owner.role, 'owner')
    assert.ok((await api.getOrgsIDOwners({orgID: org.id})).users.some((u) => u.id === carol.id))
    assert.equal(await api.deleteOrgsIDOwnersID({orgID: org.id, userID: carol.id}), undefined)
    assert.ok(!(await api.getOrgsIDOwners({orgID: org.id})).users.some((u) => u.id === carol.id))
    assert.equal(await api.deleteOrgsIDMembersID({orgID: org.id, userID: carol.id}), undefined)
    assert.ok(!(await api.getOrgsIDMembers({orgID: org.id})).users.some((u) => u.id === carol.id))

    assert.equal(await api.deleteOrgsID({orgID: org.id}), undefined)
    await expectHttpError(api.getOrgsID({orgID: org.id}), 404, 'not found')
  })

  test('OrgsAPI getOrgs filtered by userID', async () => {
    const api = new OrgsAPI(influx)
    const dave = await new UsersAPI(influx).postUsers({body: {name: unique('dave')}})
    const org = await api.postOrgs({body: {name: unique('dave-org')}})
    await api.postOrgsIDMembers({orgID: org.id, body: {id: dave.id}})
    assert.deepEqual(
      (await api.getOrgs({userID: dave.id})).orgs.map((o) => o.id),
      [org.id],
    )
  })

  test('UsersAPI and MeAPI', async () => {
    const api = new UsersAPI(influx)
    const name = unique('erin')
    const u = await api.postUsers({body: {name}})
    assert.match(u.id, ID_RE)
    assert.deepEqual([u.name, u.status], [name, 'active'])
    assert.equal(u.links.self, `/api/v2/users/${u.id}`)

    const all = await api.getUsers()
    assert.ok(all.users.some((x) => x.name === ADMIN))
    assert.deepEqual(
      (await api.getUsers({name})).users.map((x) => x.id),
      [u.id],
    )
    assert.deepEqual(
      (await api.getUsers({id: u.id})).users.map((x) => x.id),
      [u.id],
    )
    assert.equal((await api.getUsersID({userID: u.id})).name, name)
    const renamed = await api.patchUsersID({userID: u.id, body: {name: `${name}-2`}})
    assert.deepEqual([renamed.id, renamed.name], [u.id, `${name}-2`])

    assert.equal(await api.postUsersIDPassword({userID: u.id, body: {password: 'first password!'}}), undefined)
    const session = await signIn(`${name}-2`, 'first password!')
    const me = await new MeAPI(session.influx).getMe()
    assert.deepEqual([me.id, me.name], [u.id, `${name}-2`])
    // PUT /me/password proves the old password with HTTP Basic, as the Influx UI does.
    assert.equal(
      await new MeAPI(session.influx).putMePassword({
        auth: {user: `${name}-2`, password: 'first password!'},
        body: {password: 'second password!'},
      }),
      undefined,
    )
    await expectHttpError(signIn(`${name}-2`, 'first password!'), 401, 'unauthorized')
    await signIn(`${name}-2`, 'second password!')

    const adminMe = await new MeAPI(influx).getMe()
    assert.deepEqual([adminMe.id, adminMe.name], [userID, ADMIN])

    assert.equal(await api.deleteUsersID({userID: u.id}), undefined)
    await expectHttpError(api.getUsersID({userID: u.id}), 404, 'not found')
  })

  test('PUT /me/password checks the old password', async () => {
    const name = unique('grace')
    const u = await new UsersAPI(influx).postUsers({body: {name}})
    await new UsersAPI(influx).postUsersIDPassword({userID: u.id, body: {password: "grace's password"}})
    const session = await signIn(name, "grace's password")
    await expectHttpError(
      new MeAPI(session.influx).putMePassword({
        auth: {user: name, password: 'not her password'},
        body: {password: 'stolen password'},
      }),
      403,
      'forbidden',
      'your username or password is incorrect',
    )
    await signIn(name, "grace's password")
  })

  test('AuthorizationsAPI', async () => {
    const api = new AuthorizationsAPI(influx)
    const created = await api.postAuthorizations({
      body: {
        orgID,
        description: 'read dashboards',
        permissions: [{action: 'read', resource: {type: 'dashboards', orgID}}],
      },
    })
    assert.match(created.id, ID_RE)
    assert.ok(created.token)
    assert.deepEqual(
      [created.orgID, created.userID, created.org, created.user, created.status],
      [orgID, userID, SETUP_ORG, ADMIN, 'active'],
    )
    assert.deepEqual(created.permissions, [{action: 'read', resource: {type: 'dashboards', orgID}}])

    const all = await api.getAuthorizations()
    assert.ok(all.authorizations.some((a) => a.id === created.id))
    assert.ok(all.authorizations.some((a) => a.id === onboarding.auth.id))
    assert.ok(all.authorizations.every((a) => a.token === undefined))
    for (const filter of [{userID}, {user: ADMIN}, {orgID}, {org: SETUP_ORG}]) {
      const found = await api.getAuthorizations(filter)
      assert.ok(
        found.authorizations.some((a) => a.id === created.id),
        JSON.stringify(filter),
      )
    }
    const got = await api.getAuthorizationsID({authID: created.id})
    assert.deepEqual([got.id, got.description], [created.id, 'read dashboards'])

    // The token reads dashboards and cannot write them.
    const d = await newDashboard()
    const reader = new DashboardsAPI(new InfluxDB({url: server.url, token: created.token}))
    assert.equal((await reader.getDashboardsID({dashboardID: d.id})).id, d.id)
    await expectHttpError(reader.postDashboards({body: {orgID, name: 'nope'}}), 401, 'unauthorized')
    await expectHttpError(reader.deleteDashboardsID({dashboardID: d.id}), 401, 'unauthorized')

    const patched = await api.patchAuthorizationsID({
      authID: created.id,
      body: {status: 'inactive', description: 'switched off'},
    })
    assert.deepEqual([patched.status, patched.description], ['inactive', 'switched off'])
    await expectHttpError(reader.getDashboardsID({dashboardID: d.id}), 401, 'unauthorized')

    assert.equal(await api.deleteAuthorizationsID({authID: created.id}), undefined)
    await expectHttpError(api.getAuthorizationsID({authID: created.id}), 404, 'not found')
  })
})

// ---- sessions ------------------------------------------------------------------

/** Signs in with SigninAPI and returns an InfluxDB client that sends the session cookie. */
async function signIn(user, password) {
  let setCookie, status
  await new SigninAPI(new InfluxDB({url: server.url})).postSignin(
    {auth: {user, password}},
    {
      responseStarted(headers, statusCode) {
        setCookie = headers['set-cookie']
        status = statusCode
      },
    },
  )
  assert.equal(status, 204)
  const line = Array.isArray(setCookie) ? setCookie[0] : setCookie
  assert.match(line, /^influxdb-oss-session=[^;]+;/)
  assert.match(line, /Path=\/api\//)
  assert.match(line, /HttpOnly/)
  const cookie = line.split(';')[0]
  return {cookie, influx: new InfluxDB({url: server.url, headers: {cookie}, timeout: 10_000})}
}

describe('sessions', () => {
  test('SigninAPI, session cookie, SignoutAPI', async () => {
    const session = await signIn(ADMIN, ADMIN_PASSWORD)
    const me = await new MeAPI(session.influx).getMe()
    assert.deepEqual([me.id, me.name], [userID, ADMIN])
    const api = new DashboardsAPI(session.influx)
    const d = await api.postDashboards({body: {orgID, name: 'made in a session'}})
    assert.equal((await api.getDashboardsID({dashboardID: d.id})).name, 'made in a session')
    assert.ok((await api.getDashboards({orgID})).dashboards.some((x) => x.id === d.id))

    assert.equal(await new SignoutAPI(session.influx).postSignout(), undefined)
    await expectHttpError(new MeAPI(session.influx).getMe(), 401, 'unauthorized')
  })

  test('wrong password', async () => {
    await expectHttpError(
      new SigninAPI(new InfluxDB({url: server.url})).postSignin({auth: {user: ADMIN, password: 'nope'}}),
      401,
      'unauthorized',
    )
    await expectHttpError(new MeAPI(new InfluxDB({url: server.url})).getMe(), 401, 'unauthorized')
  })
})
