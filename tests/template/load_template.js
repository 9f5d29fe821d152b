#!/usr/bin/env node
// Prints a CloudFormation YAML template as JSON, with the short-form intrinsic function tags
// (!Ref, !Sub, !If, !GetAtt, ...) turned into their long forms ({"Ref": ...}, {"Fn::Sub": ...}),
// exactly as CloudFormation reads them. Uses the `yaml` package pinned in package.json.
//
//   node load_template.js <template.yaml> [node_modules dir]
//
// Exit status 1 with the parser's message (line and column) on any YAML error or unknown tag.
'use strict';

const fs = require('fs');
const path = require('path');

const [file, modulesDir] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: load_template.js <template.yaml> [node_modules dir]\n');
  process.exit(2);
}
const YAML = require(modulesDir ? path.join(modulesDir, 'yaml') : 'yaml');

// Short form -> long form key. !GetAtt and !Ref/!Condition are special-cased below.
const FUNCTIONS = {
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!FindInMap': 'Fn::FindInMap',
  '!GetAZs': 'Fn::GetAZs',
  '!ImportValue': 'Fn::ImportValue',
  '!Join': 'Fn::Join',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!Sub': 'Fn::Sub',
  '!Transform': 'Fn::Transform',
  '!And': 'Fn::And',
  '!Equals': 'Fn::Equals',
  '!If': 'Fn::If',
  '!Not': 'Fn::Not',
  '!Or': 'Fn::Or',
  '!Contains': 'Fn::Contains',
  '!ToJsonString': 'Fn::ToJsonString',
  '!Length': 'Fn::Length',
  '!GetAtt': 'Fn::GetAtt',
  '!Ref': 'Ref',
  '!Condition': 'Condition',
};

function longForm(tag, value) {
  if (tag === '!GetAtt' && typeof value === 'string') {
    // !GetAtt Resource.Attribute (the attribute may itself contain dots)
    const dot = value.indexOf('.');
    if (dot < 1) throw new Error(`!GetAtt ${value}: expected Resource.Attribute`);
    return {'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)]};
  }
  if ((tag === '!Ref' || tag === '!Condition') && typeof value !== 'string') {
    throw new Error(`${tag} takes a scalar name`);
  }
  return {[FUNCTIONS[tag]]: value};
}

const customTags = [];
for (const tag of Object.keys(FUNCTIONS)) {
  customTags.push({tag, resolve: (str) => longForm(tag, str)});
  for (const collection of ['seq', 'map']) {
    customTags.push({
      tag,
      collection,
      resolve: (node) => longForm(tag, node.toJSON()),
    });
  }
}

const text = fs.readFileSync(file, 'utf8');
const doc = YAML.parseDocument(text, {customTags, uniqueKeys: true, prettyErrors: true});
const problems = doc.errors.concat(doc.warnings);
if (problems.length) {
  for (const e of problems) process.stderr.write(`${file}: ${e.message}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify(doc.toJS({maxAliasCount: 0}), null, 1) + '\n');
