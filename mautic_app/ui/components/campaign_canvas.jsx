// The campaign canvas: React Flow with nodes of our own (the event, its timing, its live counts, a dry run's
// forecast, and "+" buttons under its handles). Positions live here while a node is dragged; Python hears the
// drop, the clicks and the lines drawn, and sends the nodes back as they should be.
import { useCallback, useEffect, useRef } from "react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useNodesState,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";

const STRIPES = { source: "#3b82f6", action: "#16a34a", decision: "#d97706", condition: "#7c3aed" };
const KIND_NAMES = { source: "Source", action: "Action", decision: "Decision", condition: "Condition" };

function number(n) {
  return (n || 0).toLocaleString();
}

function countsLine(kind, c) {
  c = c || {};
  if (kind === "source") return `${number(c.now)} in the campaign`;
  const parts = [`${number(c.now)} now`, `${number(c.done)} done`];
  if (c.scheduled) parts.push(`${number(c.scheduled)} scheduled`);
  if (c.failed) parts.push(`${number(c.failed)} failed`);
  return parts.join(" · ");
}

function AddButton({ label, path, onAdd, id, color }) {
  return (
    <button
      type="button"
      className="nodrag"
      aria-label={label}
      title={label}
      onClick={(e) => {
        e.stopPropagation();
        onAdd(id, path);
      }}
      style={{
        border: `1px solid ${color}`,
        background: "var(--color-panel-solid, #fff)",
        color,
        borderRadius: 999,
        fontSize: 11,
        padding: "0 8px",
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
  const branching = kind === "decision" || kind === "condition";
  const c = data.counts || {};
  return (
    <div
      role="group"
      aria-label={data.label}
      style={{
        width: 220,
        background: "var(--color-panel-solid, #fff)",
        color: "var(--gray-12, #111)",
        border: `1px solid ${data.error ? "#dc2626" : "var(--gray-6, #ccc)"}`,
        outline: data.selected ? "2px solid var(--accent-9, #3b82f6)" : "none",
        outlineOffset: 2,
        borderRadius: 8,
        boxShadow: "0 1px 3px rgba(0,0,0,.12)",
        fontSize: 12,
        overflow: "hidden",
      }}
    >
      {kind !== "source" && <Handle type="target" position={Position.Top} />}
      <div style={{ height: 4, background: STRIPES[kind] || "#888" }} />
      <div style={{ padding: "6px 10px 8px" }}>
        <div style={{ fontSize: 10, textTransform: "uppercase", letterSpacing: ".04em", color: STRIPES[kind] }}>
          {KIND_NAMES[kind] || kind} · {data.type_label}
        </div>
        <div style={{ fontWeight: 600, fontSize: 13, margin: "2px 0" }}>{data.label}</div>
        {data.timing && <div style={{ color: "var(--gray-11, #555)" }}>{data.timing}</div>}
        <div style={{ color: "var(--gray-11, #555)", marginTop: 2 }} aria-label="Counts">
          {countsLine(kind, c)}
        </div>
        {branching && (
          <div style={{ marginTop: 2 }}>
            <span style={{ color: "#16a34a" }}>yes {number(c.yes)}</span> ·{" "}
            <span style={{ color: "#dc2626" }}>no {number(c.no)}</span>
          </div>
        )}
        {data.dry && (
          <div style={{ marginTop: 4, padding: "2px 6px", borderRadius: 4, background: "var(--amber-3, #fef3c7)" }}>
            {data.dry}
          </div>
        )}
        {data.error && (
          <div role="alert" style={{ marginTop: 4, color: "#dc2626" }}>
            {data.error}
          </div>
        )}
      </div>
      <div style={{ display: "flex", justifyContent: branching ? "space-between" : "center", padding: "0 10px 6px" }}>
        {branching ? (
          <>
            <AddButton id={id} path="yes" label={`Add to yes path of ${data.label}`} onAdd={data.onAdd} color="#16a34a" />
            <AddButton id={id} path="no" label={`Add to no path of ${data.label}`} onAdd={data.onAdd} color="#dc2626" />
          </>
        ) : (
          <AddButton id={id} path="out" label={`Add after ${data.label}`} onAdd={data.onAdd} color="#2563eb" />
        )}
      </div>
      {branching ? (
        <>
          <Handle type="source" id="yes" position={Position.Bottom} style={{ left: "25%", background: "#16a34a" }} />
          <Handle type="source" id="no" position={Position.Bottom} style={{ left: "75%", background: "#dc2626" }} />
        </>
      ) : (
        <Handle type="source" id="out" position={Position.Bottom} />
      )}
    </div>
  );
}

const NODE_TYPES = { campaign: CampaignNode };

function Canvas({ nodes, edges, fitKey, onSelect, onAdd, onMove, onConnect }) {
  const calls = useRef({ onSelect, onAdd, onMove, onConnect });
  calls.current = { onSelect, onAdd, onMove, onConnect };
  const add = useCallback((id, path) => calls.current.onAdd && calls.current.onAdd(id, path), []);
  const shaped = (list) => (list || []).map((n) => ({ ...n, type: "campaign", data: { ...n.data, onAdd: add } }));
  const [shown, setShown, onNodesChange] = useNodesState(shaped(nodes));
  const flow = useReactFlow();

  useEffect(() => {
    setShown(shaped(nodes));
  }, [nodes]);

  useEffect(() => {
    const t = setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1.2 }), 50);
    return () => clearTimeout(t);
  }, [fitKey]);

  const styledEdges = (edges || []).map((e) => ({
    ...e,
    type: "smoothstep",
    style: { stroke: e.sourceHandle === "yes" ? "#16a34a" : e.sourceHandle === "no" ? "#dc2626" : "#94a3b8", strokeWidth: 2 },
    labelStyle: { fontSize: 11 },
  }));

  return (
    <ReactFlow
      nodes={shown}
      edges={styledEdges}
      nodeTypes={NODE_TYPES}
      onNodesChange={onNodesChange}
      onNodeClick={(_, node) => calls.current.onSelect && calls.current.onSelect(node.id)}
      onPaneClick={() => calls.current.onSelect && calls.current.onSelect("")}
      onNodeDragStop={(_, node) => calls.current.onMove && calls.current.onMove(node.id, node.position.x, node.position.y)}
      onConnect={(c) => calls.current.onConnect && calls.current.onConnect(c.source, c.sourceHandle || "out", c.target)}
      nodesConnectable
      deleteKeyCode={null}
      minZoom={0.2}
      maxZoom={2}
      proOptions={{ hideAttribution: true }}
    >
      <Background gap={20} />
      <Controls showInteractive={false} />
      <MiniMap pannable zoomable nodeColor={(n) => STRIPES[n.data && n.data.kind] || "#888"} />
    </ReactFlow>
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
