#!/usr/bin/env bash
# Regenerates the speech examples with espeak-ng (Debian package espeak-ng): synthetic voices, no licence
# questions. 16 kHz mono WAV.
set -euo pipefail
cd "$(dirname "$0")"
espeak-ng -v en-us -s 150 -w english.wav "Deep learning models learn useful features directly from data."
# No Mandarin here: espeak-ng's Mandarin voices were read as Thai, English or a loop by Whisper base.
espeak-ng -v es -s 140 -w spanish.wav "El aprendizaje profundo aprende directamente de los datos."
espeak-ng -v de -s 150 -w german.wav "Guten Morgen, wie geht es dir heute?"
for f in english spanish german; do
  python3 -c "import soundfile as sf, librosa, sys; y, sr = sf.read('$f.wav'); sf.write('$f.wav', librosa.resample(y, orig_sr=sr, target_sr=16000), 16000, subtype='PCM_16')"
done
