#!/usr/bin/env node
// Builds the adjudicator's committed artifact:
//   engine/src/anchor/solidity/Adjudicator.sol -> Adjudicator.json
// with the pinned solc-js (package.json), fixed settings and no metadata
// hash in the bytecode, so that a rebuild gives the same bytes (CI checks
// it: .ci/run). Usage: node tools/evm/build.js [--check]
//   --check  exits 1 if the committed artifact differs from a rebuild,
//            without writing it.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const SOLC_VERSION = '0.8.37';
const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'engine', 'src', 'anchor', 'solidity');
const SOURCE_NAME = 'Adjudicator.sol';
const CONTRACT = 'Adjudicator';
const ARTIFACT = path.join(DIR, 'Adjudicator.json');

// Every setting that changes the bytecode is fixed here and recorded in
// the artifact. The metadata CBOR is not appended: it would hash the
// source path and the compiler build, and it is not needed on chain.
const SETTINGS = {
  evmVersion: 'prague',
  optimizer: { enabled: true, runs: 1000000 },
  viaIR: true,
  metadata: { appendCBOR: false, bytecodeHash: 'none' },
  outputSelection: {
    [SOURCE_NAME]: {
      [CONTRACT]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'],
    },
  },
};

// Objects with their keys sorted, recursively: one value, one text.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical(value[key]);
    return out;
  }
  return value;
}

function abiKey(entry) {
  return `${entry.type} ${entry.name || ''}`;
}

function build() {
  if (!solc.version().startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`solc ${solc.version()} is installed; the artifact is built with ${SOLC_VERSION} (npm ci --prefix tools/evm)`);
  }
  const source = fs.readFileSync(path.join(DIR, SOURCE_NAME), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { [SOURCE_NAME]: { content: source } },
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const diagnostics = output.errors || [];
  for (const d of diagnostics) process.stderr.write(d.formattedMessage || d.message);
  if (diagnostics.some((d) => d.severity === 'error')) throw new Error('solc reported errors');
  if (diagnostics.length > 0) throw new Error('solc reported warnings; the adjudicator compiles without any');
  const contract = output.contracts[SOURCE_NAME][CONTRACT];
  const abi = contract.abi.slice().sort((a, b) => (abiKey(a) < abiKey(b) ? -1 : abiKey(a) > abiKey(b) ? 1 : 0));
  const artifact = {
    contractName: CONTRACT,
    source: `engine/src/anchor/solidity/${SOURCE_NAME}`,
    sourceSha256: crypto.createHash('sha256').update(source).digest('hex'),
    compiler: {
      version: solc.version(),
      settings: {
        evmVersion: SETTINGS.evmVersion,
        optimizer: SETTINGS.optimizer,
        viaIR: SETTINGS.viaIR,
        metadata: SETTINGS.metadata,
      },
    },
    abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  };
  // Top-level keys in the order written above; everything below sorted.
  const ordered = {};
  for (const key of Object.keys(artifact)) ordered[key] = key === 'abi' ? artifact.abi.map(canonical) : canonical(artifact[key]);
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function main() {
  const text = build();
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(ARTIFACT) ? fs.readFileSync(ARTIFACT, 'utf8') : '';
    if (committed !== text) {
      process.stderr.write(`${path.relative(ROOT, ARTIFACT)} differs from a rebuild: run node tools/evm/build.js\n`);
      process.exit(1);
    }
    return;
  }
  fs.writeFileSync(ARTIFACT, text);
  process.stdout.write(`wrote ${path.relative(ROOT, ARTIFACT)} (${text.length} bytes)\n`);
}

main();
