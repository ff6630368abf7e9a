// The size page with stock noise(): the same node as ech.js, one encrypter swapped
import { noise } from '@chainsafe/libp2p-noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'

const node = await createLibp2p({ transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { ping: ping() } })
Object.assign(globalThis, { node })
