// The campaign canvas: React Flow with nodes of our own (the event, its timing, its live counts, a dry run's
// forecast, and "+" buttons under each node). Positions live here while a node is dragged; Python hears the
// drop, the clicks and the lines drawn, and sends the nodes back as they should be.
import { useCallback, useEffect, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useNodesState,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";

const STRIPES = { source: "#2563eb", action: "#059669", decision: "#d97706", condition: "#7c3aed" };
const KIND_NAMES = { source: "Source", action: "Action", decision: "Decision", condition: "Condition" };
const YES = "#16a34a";
const NO = "#dc2626";
const LINE = "#94a3b8";
const MUTED = "var(--gray-11, #64748b)";
const HANDLE = { width: 10, height: 10, border: "2px solid var(--color-panel-solid, #fff)" };

function Clock() {
  return (
    <svg
      width="11"
      height="11"
      viewBox="0 0 24 24"
      aria-hidden="true"
      style={{ display: "inline-block", verticalAlign: "-1px", marginRight: 4 }}
    >
      <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" strokeWidth="2.5" />
      <path d="M12 7v5l3 2" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" />
    </svg>
  );
}

function number(n) {
  return (n || 0).toLocaleString();
}

function countsLine(kind, c) {
  if (kind === "source") return `${number(c.now)} ${c.now === 1 ? "member" : "members"}`;
  const parts = [`${number(c.now)} now`, `${number(c.done)} done`];
  if (c.scheduled) parts.push(`${number(c.scheduled)} scheduled`);
  if (c.failed) parts.push(`${number(c.failed)} failed`);
  return parts.join(" · ");
}

function AddButton({ id, path, label, color, onAdd }) {
  return (
    <button
      type="button"
      className="nodrag nopan"
      aria-label={label}
      title={label}
      onClick={(e) => {
        e.stopPropagation(); // a "+" is not a click on the node
        onAdd(id, path);
      }}
      style={{
        border: `1px solid ${color}`,
        background: "var(--color-panel-solid, #fff)",
        color,
        borderRadius: 999,
        fontSize: 11,
        fontWeight: 600,
        padding: "0 10px",
        lineHeight: "18px",
        cursor: "pointer",
      }}
    >
      {path === "out" ? "+" : `+ ${path}`}
    </button>
  );
}

function CampaignNode({ id, data }) {
  const kind = data.kind;
  const stripe = STRIPES[kind] || "#64748b";
  const branching = kind === "decision" || kind === "condition";
  const c = data.counts || {};
  return (
    <div
      style={{
        width: 250,
        background: "var(--color-panel-solid, #fff)",
        color: "var(--gray-12, #0f172a)",
        border: `1px solid ${data.error ? NO : "var(--gray-6, #d4d4d8)"}`,
        borderLeft: `4px solid ${stripe}`,
        outline: data.selected ? "2px solid var(--accent-9, #2563eb)" : "none",
        outlineOffset: 2,
        borderRadius: 10,
        boxShadow: data.selected ? "0 4px 14px rgba(37,99,235,.18)" : "0 1px 3px rgba(15,23,42,.10)",
        fontSize: 12,
        lineHeight: 1.4,
        cursor: "pointer",
      }}
    >
      {kind !== "source" && <Handle type="target" position={Position.Top} style={{ ...HANDLE, background: LINE }} />}
      <div style={{ padding: "8px 12px 6px" }}>
        <div
          title={data.type_label}
          style={{
            fontSize: 10,
            fontWeight: 600,
            textTransform: "uppercase",
            letterSpacing: ".05em",
            color: stripe,
            whiteSpace: "nowrap",
            overflow: "hidden",
            textOverflow: "ellipsis",
          }}
        >
          {KIND_NAMES[kind] || kind}
          {data.type_label ? ` · ${data.type_label}` : ""}
        </div>
        <div style={{ fontWeight: 600, fontSize: 14, margin: "1px 0 2px", overflowWrap: "anywhere" }}>{data.label}</div>
        {data.timing && (
          <div style={{ color: MUTED }}>
            <Clock />
            {data.timing}
          </div>
        )}
        <div style={{ color: MUTED, marginTop: 2 }}>{countsLine(kind, c)}</div>
        {branching && (
          <div style={{ marginTop: 1, fontWeight: 500 }}>
            <span style={{ color: YES }}>yes {number(c.yes)}</span>
            <span style={{ color: MUTED }}> · </span>
            <span style={{ color: NO }}>no {number(c.no)}</span>
          </div>
        )}
        {data.dry && (
          <div
            style={{
              marginTop: 6,
              padding: "3px 8px",
              borderRadius: 6,
              background: "var(--amber-3, #fef3c7)",
              color: "var(--amber-11, #92400e)",
              fontWeight: 500,
            }}
          >
            {data.dry}
          </div>
        )}
        {data.error && (
          <div role="alert" style={{ marginTop: 6, color: NO, fontWeight: 500 }}>
            ⚠ {data.error}
          </div>
        )}
      </div>
      <div
        style={{
          display: "flex",
          justifyContent: branching ? "space-between" : "center",
          gap: 8,
          padding: "6px 12px 8px",
          borderTop: "1px solid var(--gray-4, #f1f5f9)",
        }}
      >
        {branching ? (
          <>
            <AddButton id={id} path="yes" label={`Add to yes path of ${data.label}`} color={YES} onAdd={data.onAdd} />
            <AddButton id={id} path="no" label={`Add to no path of ${data.label}`} color={NO} onAdd={data.onAdd} />
          </>
        ) : (
          <AddButton id={id} path="out" label={`Add after ${data.label}`} color="#2563eb" onAdd={data.onAdd} />
        )}
      </div>
      {branching ? (
        <>
          <Handle type="source" id="yes" position={Position.Bottom} style={{ ...HANDLE, left: "25%", background: YES }} />
          <Handle type="source" id="no" position={Position.Bottom} style={{ ...HANDLE, left: "75%", background: NO }} />
        </>
      ) : (
        <Handle type="source" id="out" position={Position.Bottom} style={{ ...HANDLE, background: stripe }} />
      )}
    </div>
  );
}

const NODE_TYPES = { campaign: CampaignNode };

// React Flow's own colour mode puts a "light" or "dark" class on the canvas, which also picks Radix's colour
// scales inside it: follow the app's theme (the class on <html>) so both agree.
function useAppColorMode() {
  const read = () => (document.documentElement.classList.contains("dark") ? "dark" : "light");
  const [mode, setMode] = useState(read);
  useEffect(() => {
    const watch = new MutationObserver(() => setMode(read()));
    watch.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
    return () => watch.disconnect();
  }, []);
  return mode;
}

const PENDING_MS = 2000; // how long a dropped node keeps its spot while Python's copy catches up
const near = (a, b) => Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5;

function Canvas({ nodes, edges, fitKey, onSelect, onAdd, onMove, onConnect }) {
  const calls = useRef({});
  calls.current = { onSelect, onAdd, onMove, onConnect };
  const add = useCallback((id, path) => calls.current.onAdd && calls.current.onAdd(id, path), []);
  // React Flow's node wrapper is the focusable role="group"; it takes the event's name.
  const shaped = (list) =>
    (list || []).map((n) => ({
      ...n,
      type: "campaign",
      ariaLabel: n.data && n.data.label,
      selected: !!(n.data && n.data.selected), // arrow keys move the node Python has selected
      data: { ...n.data, onAdd: add },
    }));
  const [shown, setShown, onNodesChange] = useNodesState(shaped(nodes));
  const flow = useReactFlow();
  const colorMode = useAppColorMode();
  const pending = useRef(new Map()); // id -> {x, y, at}: dropped here, not yet back from Python
  const reported = useRef(new Map()); // id -> {x, y, at}: last sent to Python
  const keyTimer = useRef(null);

  // Python's nodes win, except for the one being dragged and one just dropped (until Python agrees).
  useEffect(() => {
    const now = Date.now();
    setShown((local) => {
      const byId = new Map(local.map((n) => [n.id, n]));
      return shaped(nodes).map((n) => {
        const mine = byId.get(n.id);
        if (mine && mine.dragging) return { ...n, position: mine.position, dragging: true };
        const p = pending.current.get(n.id);
        if (p) {
          if (near(p, n.position) || now - p.at > PENDING_MS) pending.current.delete(n.id);
          else return { ...n, position: { x: p.x, y: p.y } };
        }
        return n;
      });
    });
  }, [nodes]);

  // Fit the view on the first nodes, then whenever fit_key changes (fitView waits until they are measured).
  const hasNodes = (nodes || []).length > 0;
  const fitted = useRef(null);
  useEffect(() => {
    if (!hasNodes || fitted.current === fitKey) return;
    fitted.current = fitKey;
    flow.fitView({ padding: 0.2, maxZoom: 1.1, duration: 0 });
  }, [fitKey, hasNodes]);

  const report = (id, position, always) => {
    const last = reported.current.get(id);
    if (!always && last && near(last, position) && Date.now() - last.at < PENDING_MS) return;
    reported.current.set(id, { x: position.x, y: position.y, at: Date.now() });
    pending.current.set(id, { x: position.x, y: position.y, at: Date.now() });
    if (calls.current.onMove) calls.current.onMove(id, position.x, position.y);
  };

  // Arrow keys move a selected node without a drag: tell Python where it ended up, once the keys rest.
  const changed = useCallback(
    (changes) => {
      onNodesChange(changes);
      const moved = changes.filter((c) => c.type === "position" && c.position && c.dragging === false);
      if (!moved.length) return;
      clearTimeout(keyTimer.current);
      keyTimer.current = setTimeout(() => {
        for (const c of moved) report(c.id, c.position);
      }, 400);
    },
    [onNodesChange],
  );
  useEffect(() => () => clearTimeout(keyTimer.current), []);

  const styledEdges = (edges || []).map((e) => {
    const color = e.sourceHandle === "yes" ? YES : e.sourceHandle === "no" ? NO : LINE;
    return {
      ...e,
      type: "smoothstep",
      style: { stroke: color, strokeWidth: 2 },
      markerEnd: { type: MarkerType.ArrowClosed, color, width: 16, height: 16 },
      labelStyle: { fontSize: 11, fill: color === LINE ? "#475569" : color, fontWeight: 600 },
      labelBgPadding: [4, 2],
      labelBgBorderRadius: 4,
    };
  });

  return (
    <div
      style={{ width: "100%", height: "100%" }}
      onKeyDown={(e) => {
        // Enter on a focused node opens it, as a click does
        const el = e.target;
        if (e.key === "Enter" && el.classList && el.classList.contains("react-flow__node") && calls.current.onSelect) {
          calls.current.onSelect(el.getAttribute("data-id"));
        }
      }}
    >
      <ReactFlow
        nodes={shown}
        edges={styledEdges}
        nodeTypes={NODE_TYPES}
        colorMode={colorMode}
        onNodesChange={changed}
        onNodeClick={(_, node) => calls.current.onSelect && calls.current.onSelect(node.id)}
        onPaneClick={() => calls.current.onSelect && calls.current.onSelect("")}
        onNodeDragStop={(_, node) => report(node.id, node.position, true)}
        onConnect={(c) => calls.current.onConnect && calls.current.onConnect(c.source, c.sourceHandle || "out", c.target)}
        nodesConnectable
        edgesFocusable={false}
        deleteKeyCode={null}
        minZoom={0.2}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} size={1.5} color={colorMode === "dark" ? "#3f3f46" : "#cbd5e1"} />
        <Controls showInteractive={false} />
        <MiniMap
          pannable
          zoomable
          nodeColor={(n) => STRIPES[n.data && n.data.kind] || "#64748b"}
          nodeBorderRadius={6}
          style={{ width: 160, height: 110 }}
        />
      </ReactFlow>
    </div>
  );
}

export function CampaignCanvas({ nodes, edges, fitKey, height, onSelect, onAdd, onMove, onConnect }) {
  return (
    <div style={{ width: "100%", height: height || "640px" }}>
      <ReactFlowProvider>
        <Canvas
          nodes={nodes}
          edges={edges}
          fitKey={fitKey}
          onSelect={onSelect}
          onAdd={onAdd}
          onMove={onMove}
          onConnect={onConnect}
        />
      </ReactFlowProvider>
    </div>
  );
}
