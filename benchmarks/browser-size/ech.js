// The size page with echNoise(): the same node as noise.js, one encrypter swapped
// (plain JavaScript, so every bundler takes it without a loader)
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { echNoise } from 'libp2p-noise-ech'

const node = await createLibp2p({ transports: [webSockets()], connectionEncrypters: [echNoise()], streamMuxers: [yamux()], services: { ping: ping() } })
Object.assign(globalThis, { node })
